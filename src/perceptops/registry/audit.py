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
    """Plain lines (no table): paths and md5s stay whole and copyable at any terminal width."""
    from rich.console import Console

    con = Console(soft_wrap=True, highlight=False)
    out = con.print
    out(
        f"[bold]{report['model']}[/] version [bold]{report['version']}[/]  aliases: "
        f"{', '.join(report['aliases']) or '-'}  run {report['run_id']}"
    )
    who = f"group {report['group']}, scenario {report['scenario']}, trained on city {report['train_city']}"
    if report.get("base_general_version"):
        who += f", fine-tuned from safety-general v{report['base_general_version']}"
    out(who)
    g = report["git"]
    out(f"code: git {g.get('commit')} (dirty: {g.get('dirty')})")
    out("[bold]inputs[/] (md5 as dvc.lock records them):")
    for key, i in report["inputs"].items():
        where = f"in DVC out {i['out']} ({i['out_md5']})" if i.get("out") else "not a DVC out"
        out(f"  {key}: {i['path']}  md5 {i['md5']}  {where}  (md5 from {i.get('source')})")
    d, e = report["describer"], report["encoders"]
    out(f"describer: {d.get('backend')} / {d.get('model')}, prompt hash {d.get('prompt_hash')}")
    out(f"encoders: image {e.get('image')}, text {e.get('text')}")
    out("evaluation: " + (", ".join(f"{k}={v}" for k, v in report["evaluation"].items()) or "none recorded"))
    out("validation: " + ", ".join(f"{k}={v}" for k, v in report["validation"].items()))
    if report["events"]:
        out("[bold]promotion events[/]:")
        for x in report["events"]:
            failed = [gt["gate"] for gt in x.get("gates", []) if not gt["passed"]]
            out(
                f"  {x['time']}  {x['user']}  {x['action']}  {x['from']} -> {x['to']}"
                + (f"  failed: {', '.join(failed)}" if failed else "")
                + (f"  reason: {x['reason']}" if x.get("reason") else "")
            )


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
