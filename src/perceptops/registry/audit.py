"""``perceptops audit``: a version's lineage as a report, and ``--export`` of the exact rows that trained it.

Export fetches each input by the md5 recorded at registration from the DVC cache (then the local
default remote), verifies the bytes against that md5, and writes nothing unless every file verifies:
a changed or deleted file is an error naming it, never a silent substitute (the workspace copy may
have moved on since).
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import Any

from perceptops.errors import DataError
from perceptops.registry import events as ev
from perceptops.registry.lineage import cache_dir, object_path, remote_dir
from perceptops.utils import write_json

INPUTS = ("manifest", "descriptions", "labels", "pseudo_labels", "model")
EXPORTED = ("descriptions", "pseudo_labels", "labels")  # the rows that trained it


def audit_report(reg: Any, name: str, version: str | int) -> dict[str, Any]:
    from perceptops.registry.tracking import get_version

    mv = get_version(reg, name, version=version)
    tags = dict(mv.tags or {})
    inputs = {}
    for key in INPUTS:
        if f"lineage.{key}.md5" in tags:
            inputs[key] = {
                f: tags.get(f"lineage.{key}.{f}") for f in ("path", "md5", "out", "out_md5", "source")
            }
    v = str(mv.version)
    events = [e for e in ev.model_events(reg, name) if v in (str(e.get("to")), str(e.get("from")))]
    pick = lambda prefix: {k[len(prefix) :]: val for k, val in sorted(tags.items()) if k.startswith(prefix)}  # noqa: E731
    return {
        "model": name,
        "version": v,
        "aliases": sorted(mv.aliases or []),
        "run_id": mv.run_id,
        "created": mv.creation_timestamp,
        "target": tags.get("target"),
        "group": tags.get("group"),
        "scenario": tags.get("scenario"),
        "train_city": tags.get("train_city"),
        "base_general_version": tags.get("base.general_version"),
        "git": pick("git."),
        "inputs": inputs,
        "describer": pick("describer."),
        "encoders": pick("encoder."),
        "evaluation": pick("eval."),
        "validation": pick("data."),
        "events": events,
        "tracking_uri": reg.uri,
    }


def render(report: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    con = Console()
    con.print(
        f"[bold]{report['model']}[/] version [bold]{report['version']}[/]  aliases: "
        f"{', '.join(report['aliases']) or '-'}  run {report['run_id']}"
    )
    who = (
        f"group [bold]{report['group']}[/], scenario [bold]{report['scenario']}[/], "
        f"trained on city [bold]{report['train_city']}[/]"
    )
    if report.get("base_general_version"):
        who += f", fine-tuned from safety-general v{report['base_general_version']}"
    con.print(who)
    g = report["git"]
    con.print(f"code: git {g.get('commit')} (dirty: {g.get('dirty')})")
    t = Table(title="inputs (md5 as dvc.lock records them)")
    for c in ("input", "path", "md5", "DVC out", "out md5", "from"):
        t.add_column(c)
    for key, i in report["inputs"].items():
        t.add_row(
            key, i["path"], i["md5"], i.get("out") or "-", i.get("out_md5") or "-", i.get("source") or ""
        )
    con.print(t)
    d, e = report["describer"], report["encoders"]
    con.print(f"describer: {d.get('backend')} / {d.get('model')}, prompt hash {d.get('prompt_hash')}")
    con.print(f"encoders: image {e.get('image')}, text {e.get('text')}")
    ev_ = report["evaluation"]
    con.print("evaluation: " + (", ".join(f"{k}={v}" for k, v in ev_.items()) or "none recorded"))
    con.print("validation: " + ", ".join(f"{k}={v}" for k, v in report["validation"].items()))
    if report["events"]:
        t = Table(title="promotion events")
        for c in ("time", "user", "action", "from", "to", "reason"):
            t.add_column(c)
        for x in report["events"]:
            t.add_row(x["time"], x["user"], x["action"], str(x["from"]), str(x["to"]), x.get("reason") or "")
        con.print(t)


def _md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def fetch_verified(root: Path, path: str, md5: str, source: str | None) -> bytes:
    """The bytes with this md5: DVC cache, then the local remote (workspace only for non-DVC files)."""
    places: list[tuple[str, Path]] = [("DVC cache", object_path(cache_dir(root), md5))]
    rdir = remote_dir(root)
    if rdir is not None:
        places.append(("DVC remote", object_path(rdir, md5)))
    if source == "file":
        places.append(("workspace", root / path))
    seen = []
    for where, p in places:
        if not p.is_file():
            seen.append(f"{where}: missing ({p})")
            continue
        data = p.read_bytes()
        got = _md5(data)
        if got == md5:
            return data
        seen.append(f"{where}: md5 mismatch, recorded {md5}, found {got} ({p})")
    raise DataError(
        f"cannot export {path}: no copy with the recorded md5 {md5} ("
        + "; ".join(seen)
        + "). The file was changed or deleted; restore it with `dvc pull` or `git checkout` + `dvc checkout`"
    )


def export(reg: Any, report: dict[str, Any], dest: Path) -> list[Path]:
    """Write the verified input files under DEST (same relative paths) + lineage.json; all or nothing."""
    blobs: dict[str, bytes] = {}
    for key in EXPORTED:
        i = report["inputs"].get(key)
        if i:
            blobs[i["path"]] = fetch_verified(reg.root, i["path"], i["md5"], i.get("source"))
    if not blobs:
        raise DataError(f"{report['model']} v{report['version']} records no input files to export")
    dest = Path(dest)
    tmp = dest.with_name(f".{dest.name}.partial")
    shutil.rmtree(tmp, ignore_errors=True)
    written = []
    for rel, data in blobs.items():
        out = tmp / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(data)
        written.append(dest / rel)
    write_json(tmp / "lineage.json", report)
    dest.mkdir(parents=True, exist_ok=True)
    for f in sorted(tmp.rglob("*")):
        if f.is_file():
            target = dest / f.relative_to(tmp)
            target.parent.mkdir(parents=True, exist_ok=True)
            f.replace(target)
    shutil.rmtree(tmp, ignore_errors=True)
    return [*written, dest / "lineage.json"]
