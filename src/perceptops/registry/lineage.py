"""What a model version read, as ``dvc.lock`` pins it: md5 of every input file, git state, describer.

For a file that is itself a DVC out, the md5 is the one in ``dvc.lock``. For a file inside a directory
out (``descriptions/<c>/<t>.parquet`` in ``descriptions/<c>``), it is the file's md5 from the ``.dir``
manifest in the DVC cache, plus the directory out's md5 from ``dvc.lock``: both are recorded, so the
audit can fetch the exact bytes back from the cache or remote.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from perceptops.errors import DataError
from perceptops.utils import md5_file


@dataclass(frozen=True)
class FileMd5:
    path: str  # relative to the project root, posix
    md5: str  # the file's md5 (DVC 3: plain md5 of the bytes)
    out: str | None  # the DVC out that holds it (== path for a file out), None when not a DVC out
    out_md5: str | None  # that out's md5 as dvc.lock records it ("<md5>.dir" for a directory)
    source: str  # "dvc.lock" or "file" (not in dvc.lock: hashed from the workspace)

    def tags(self, key: str) -> dict[str, str]:
        t = {
            f"lineage.{key}.path": self.path,
            f"lineage.{key}.md5": self.md5,
            f"lineage.{key}.source": self.source,
        }
        if self.out is not None and self.out_md5 is not None:
            t[f"lineage.{key}.out"] = self.out
            t[f"lineage.{key}.out_md5"] = self.out_md5
        return t


def cache_dir(root: Path) -> Path:
    """The DVC cache (``.dvc/cache`` unless ``cache.dir`` is set in .dvc/config[.local])."""
    cfg = _dvc_config(root)
    d = cfg.get("cache", {}).get("dir")
    if d:
        p = Path(d)
        return p if p.is_absolute() else (root / ".dvc" / p).resolve()
    return root / ".dvc" / "cache"


def remote_dir(root: Path) -> Path | None:
    """The default DVC remote when it is a local folder (the demo's ``dvc-remote``), else None."""
    cfg = _dvc_config(root)
    name = cfg.get("core", {}).get("remote")
    if not name:
        return None
    url = cfg.get(f'remote "{name}"', {}).get("url")
    if not url or "://" in url and not url.startswith("file://"):
        return None
    url = url.removeprefix("file://")
    p = Path(url)
    return p if p.is_absolute() else (root / ".dvc" / p).resolve()


def _dvc_config(root: Path) -> dict[str, dict[str, str]]:
    from configobj import ConfigObj

    out: dict[str, dict[str, str]] = {}
    for name in ("config", "config.local"):
        f = root / ".dvc" / name
        if f.is_file():
            for sect, vals in ConfigObj(str(f)).items():
                if isinstance(vals, dict):
                    out.setdefault(sect, {}).update({k: str(v) for k, v in vals.items()})
    return out


def object_path(base: Path, md5: str) -> Path:
    """DVC 3 content-addressed layout: files/md5/<2>/<rest> (``.dir`` kept as a suffix)."""
    return base / "files" / "md5" / md5[:2] / md5[2:]


class DvcLock:
    """The outs recorded in ``dvc.lock`` (path -> md5), and lookups of files inside directory outs."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.outs: dict[str, str] = {}
        lock = self.root / "dvc.lock"
        if lock.is_file():
            from ruamel.yaml import YAML

            data = YAML(typ="safe").load(lock.read_text()) or {}
            for stage in (data.get("stages") or {}).values():
                for out in stage.get("outs") or []:
                    if out.get("md5"):
                        self.outs[str(out["path"]).rstrip("/")] = str(out["md5"])
        self._dirs: dict[str, dict[str, str]] = {}

    def dir_manifest(self, dir_md5: str) -> dict[str, str]:
        """relpath -> md5 from the ``.dir`` object in the cache (or the local remote)."""
        if dir_md5 not in self._dirs:
            for base in (cache_dir(self.root), remote_dir(self.root)):
                if base is not None and object_path(base, dir_md5).is_file():
                    entries = json.loads(object_path(base, dir_md5).read_text())
                    self._dirs[dir_md5] = {e["relpath"]: e["md5"] for e in entries}
                    break
            else:
                raise DataError(
                    f"DVC directory manifest {dir_md5} is in neither the cache nor the remote: run `dvc pull`"
                )
        return self._dirs[dir_md5]

    def file_md5(self, path: Path | str) -> FileMd5:
        """The md5 dvc.lock pins for ``path`` (a file out, or a file inside a directory out)."""
        p = Path(path)
        rel = (p.resolve().relative_to(self.root.resolve()) if p.is_absolute() else p).as_posix()
        if rel in self.outs:
            return FileMd5(rel, self.outs[rel], rel, self.outs[rel], "dvc.lock")
        for out, md5 in self.outs.items():
            if rel.startswith(out + "/") and md5.endswith(".dir"):
                sub = rel[len(out) + 1 :]
                manifest = self.dir_manifest(md5)
                if sub not in manifest:
                    raise DataError(f"{rel} is not in the DVC out {out} ({md5}): re-run `dvc repro`")
                return FileMd5(rel, manifest[sub], out, md5, "dvc.lock")
        # Not produced by DVC (a run outside the pipeline): hash the workspace file, and say so.
        full = self.root / rel
        if not full.is_file():
            raise DataError(f"{rel} does not exist: run the stage that writes it (`dvc repro`)")
        return FileMd5(rel, md5_file(full), None, None, "file")


def git_info(root: Path) -> dict[str, str]:
    """Commit and dirty flag of the project checkout ('unknown' outside git)."""

    def git(*args: str) -> str | None:
        try:
            r = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=20)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return r.stdout.strip() if r.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    # Outputs are DVC-managed and gitignored, and `dvc repro` rewrites dvc.lock while it runs: only
    # other tracked changes (code, params, prompts) make the checkout "dirty".
    status = git("status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)dvc.lock")
    return {
        "git.commit": commit or "unknown",
        "git.dirty": "unknown" if status is None else str(bool(status)).lower(),
    }


def describer_info(path: Path) -> dict[str, str]:
    """Backend, model and prompt hash of a description file (its own columns say what wrote it)."""
    import pyarrow.parquet as pq

    cols = [c for c in ("backend", "model", "prompt_hash") if c in pq.read_schema(path).names]
    df = pq.read_table(path, columns=cols).to_pandas() if cols else None
    out: dict[str, str] = {}
    for c in ("backend", "model", "prompt_hash"):
        vals = sorted({str(v) for v in df[c].dropna()}) if df is not None and c in df else []
        out[f"describer.{c}"] = ",".join(vals) if vals else "unknown"
    return out


def encoder_info(model_dir: Path, embed_dir: Path) -> dict[str, str]:
    """Encoder ids from the model's config.json (``encoders``), else the city's embed/encoders.json."""
    enc: dict[str, Any] = {}
    cfg = model_dir / "config.json"
    if cfg.is_file():
        enc = json.loads(cfg.read_text()).get("encoders") or {}
    if not enc and (embed_dir / "encoders.json").is_file():
        enc = json.loads((embed_dir / "encoders.json").read_text())
    return {f"encoder.{b}": str((enc.get(b) or {}).get("id", "unknown")) for b in ("image", "text")}
