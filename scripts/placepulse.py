#!/usr/bin/env python
"""The whole pipeline on real Place Pulse 1.0 photos (Boston trains, NYC is the new city).

Builds a separate workspace (default ``runs/placepulse/``, gitignored): a copy of the tracked project
files as a fresh git + DVC repo, with ``train_city: boston``, the TFLite DeepLab scene backend, and
the cities ``boston`` and ``nyc`` added through ``perceptops cities add`` (the user path). It then runs
``dvc repro`` stage group by stage group, timing each, and collects the evaluation table, the NYC drift
summary and the maps summaries into ``<workspace>/results.json`` and ``<workspace>/results.md``.

    .venv/bin/python scripts/placepulse.py [--limit N] [--dest runs/placepulse] [--threads 2]

``make placepulse`` runs it with all images. Stdlib + ruamel only (the venv's).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from perceptops.offline import apply_offline_defaults

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
CITIES = {"boston": "Boston", "nyc": "New York City"}

# dvc repro targets in pipeline order; each group is timed on its own (upstream is already done).
PARTS: list[tuple[str, list[str]]] = [
    ("ingest + validate", [f"validate@{c}" for c in CITIES]),
    ("scene (TFLite DeepLab)", [f"scene@{c}" for c in CITIES]),
    ("survey (simulated panel)", [f"survey@{c}" for c in CITIES]),
    ("describe (scene describer, 9 targets)", [f"describe@{c}" for c in CITIES]),
    ("embed", [f"embed@{c}" for c in CITIES]),
    ("labels + train_general", ["train_general"]),
    ("finetune (8 targets)", ["finetune"]),
    ("evaluate", ["evaluate"]),
    ("register (MLflow sqlite)", ["register"]),
    ("score_city (maps)", [f"score_city@{c}" for c in CITIES]),
    ("drift (Evidently)", [f"drift@{c}" for c in CITIES]),
    ("rest of dvc repro (no-op check)", []),
]


def shared_dir() -> Path:
    env = os.environ.get("PERCEPTOPS_SHARED")
    return Path(env).resolve() if env else (REPO / ".." / "shared").resolve()


def project_env(root: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["PERCEPTOPS_SHARED"] = str(shared_dir())
    env["PERCEPTOPS_PROJECT"] = str(root)
    env.pop("MLFLOW_TRACKING_URI", None)
    apply_offline_defaults(env)
    return env


def sh(root: Path, *cmd: str) -> subprocess.CompletedProcess:
    """Run one command in the workspace; on failure print its tail and stop (the command is named)."""
    r = subprocess.run(cmd, cwd=root, env=project_env(root), capture_output=True, text=True)
    if r.returncode != 0:
        sys.stderr.write(
            f"FAILED ({r.returncode}): {' '.join(cmd)}\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}\n"
        )
        raise SystemExit(r.returncode)
    return r


def build_workspace(dest: Path, limit: int, threads: int) -> None:
    """Copy the tracked project files (not tests/benchmarks) into a fresh git+dvc repo with real cities."""
    from ruamel.yaml import YAML

    files = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    dest.mkdir(parents=True)
    for rel in files:
        src = REPO / rel
        if not src.is_file() or rel.startswith(("tests/", "benchmarks/", "docs/img/")):
            continue
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dest / rel)
    # train_city, scene backend and an empty city mapping; `cities add` then validates each new file.
    yaml = YAML()
    pfile = dest / "params.yaml"
    data = yaml.load(pfile.read_text())
    data["train_city"] = "boston"
    data["cities"] = {}
    data["scene"]["backend"] = "tflite"
    data["scene"]["model"] = (
        "${PERCEPTOPS_SHARED}/models/coral/deeplab_mobilenet_edgetpu_slim_cityscapes_quant.tflite"
    )
    data["scene"]["threads"] = threads
    with open(pfile, "w") as f:
        yaml.dump(data, f)
    for name, pp_city in CITIES.items():
        args = ["cities", "add", name, "--source", "placepulse1"]
        args += ["--path", "${PERCEPTOPS_SHARED}/data/placepulse1", "--filter", f"city={pp_city}"]
        if limit:
            args += ["--limit", str(limit)]
        print(sh(dest, str(BIN / "perceptops"), *args).stdout.strip())
    g = ["git", "-c", "user.email=placepulse@perceptops", "-c", "user.name=placepulse"]
    sh(dest, "git", "init", "-q")
    sh(dest, *g, "add", "-A")
    sh(dest, *g, "commit", "-qm", "placepulse workspace")
    if not (dest / ".dvc").is_dir():
        sh(dest, str(BIN / "dvc"), "init", "-q")


def run_pipeline(dest: Path) -> list[dict]:
    timings = []
    for label, targets in PARTS:
        t0 = time.perf_counter()
        r = sh(dest, str(BIN / "dvc"), "repro", *targets)
        dt = time.perf_counter() - t0
        ran = [ln.split("'")[1] for ln in r.stdout.splitlines() if ln.startswith("Running stage '")]
        timings.append({"part": label, "targets": targets, "seconds": round(dt, 1), "stages_run": len(ran)})
        print(f"{label:40s} {dt:7.1f} s  ({len(ran)} stages run)", flush=True)
    return timings


def promote_refused(dest: Path) -> list[dict]:
    """Maps need champions. On these photos the gates may refuse every candidate (near-chance accuracy):
    record each refusal, force-promote with a reason (kept in the event log), re-score and re-check drift."""
    reg = json.loads((dest / "registry/registered.json").read_text())
    forced = []
    for m in reg["models"]:
        if "champion" in m["aliases"]:
            continue
        cmd = [str(BIN / "perceptops"), "promote", m["name"], str(m["version"])]
        r = subprocess.run(cmd, cwd=dest, env=project_env(dest), capture_output=True, text=True)
        if r.returncode == 0:
            continue
        refusal = " ".join(ln.strip() for ln in r.stderr.splitlines() if "FAIL" in ln)
        reason = "placepulse results run: map the refused candidate (gate refusal recorded in results.json)"
        sh(dest, *cmd, "--force", "--reason", reason)
        forced.append({"model": m["name"], "version": m["version"], "refused": refusal})
        print(f"forced {m['name']} v{m['version']}: {refusal}", flush=True)
    return forced


def collect(dest: Path, timings: list[dict], limit: int, threads: int, total_s: float) -> dict:
    def rj(rel: str):
        p = dest / rel
        return json.loads(p.read_text()) if p.is_file() else None

    out = {
        "limit": limit,
        "scene_threads": threads,
        "total_seconds": round(total_s, 1),
        "timings": timings,
        "load_average": os.getloadavg(),
        "validate": {c: rj(f"metrics/validate/{c}.json") for c in CITIES},
        "survey": {c: rj(f"metrics/survey/{c}.json") for c in CITIES},
        "train_general": rj("metrics/train_general.json"),
        "general_test": rj("models/general/metrics.json"),
        "evaluation": rj("reports/evaluation/results.json"),
        "registered": rj("registry/registered.json"),
        "maps": {c: rj(f"maps/{c}/summary.json") for c in CITIES},
        "drift": {c: rj(f"metrics/drift/{c}.json") for c in CITIES},
        "drift_summary_nyc": rj("monitoring/reports/nyc/summary.json"),
    }
    from perceptops.utils import write_json

    write_json(dest / "results.json", out)
    table = dest / "reports/evaluation/table.md"
    md = [
        "# Place Pulse 1.0 run",
        "",
        f"limit {limit or 'all'}; total {total_s:.0f} s",
        "",
        "| part | seconds | stages run |",
        "| --- | --- | --- |",
    ]
    md += [f"| {t['part']} | {t['seconds']} | {t['stages_run']} |" for t in timings]
    md += ["", table.read_text() if table.is_file() else "(no evaluation table)"]
    (dest / "results.md").write_text("\n".join(md) + "\n")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--limit", type=int, default=0, help="images per city (0 = all)")
    ap.add_argument("--dest", type=Path, default=REPO / "runs" / "placepulse", help="workspace folder")
    ap.add_argument("--threads", type=int, default=2, help="scene.threads (TFLite worker processes)")
    ap.add_argument(
        "--reuse", action="store_true", help="keep an existing workspace and only re-run dvc repro"
    )
    ap.add_argument(
        "--no-force-champions",
        dest="force_champions",
        action="store_false",
        help="leave candidates the promotion gates refused un-promoted (the maps then stay empty)",
    )
    a = ap.parse_args(argv)
    if not (shared_dir() / "data" / "placepulse1" / "scores.csv").is_file():
        print(f"no Place Pulse 1.0 data under {shared_dir()} (set PERCEPTOPS_SHARED)", file=sys.stderr)
        return 2
    dest = a.dest.resolve()
    if dest.exists() and not a.reuse:
        shutil.rmtree(dest)
    if not dest.exists():
        build_workspace(dest, a.limit, a.threads)
    t0 = time.perf_counter()
    timings = run_pipeline(dest)
    forced = promote_refused(dest) if a.force_champions else []
    if forced:  # champions changed outside DVC's view: re-score and re-check drift by force
        t1 = time.perf_counter()
        targets = [f"{s}@{c}" for s in ("score_city", "drift") for c in CITIES]
        sh(dest, str(BIN / "dvc"), "repro", "-f", "-s", *targets)
        dt = round(time.perf_counter() - t1, 1)
        timings.append({"part": "forced champions: score_city + drift again", "seconds": dt, "stages_run": 4})
    out = collect(dest, timings, a.limit, a.threads, time.perf_counter() - t0)
    out["forced_champions"] = forced
    from perceptops.utils import write_json

    write_json(dest / "results.json", out)
    print(
        f"done: {dest}/results.md, {dest}/maps/boston/index.html, {dest}/monitoring/reports/nyc/report.html"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
