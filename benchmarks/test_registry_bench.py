"""Registry speed: registering the 9 models of a default pipeline run (1 general + 4 groups x 2 scenarios),
a re-run that reuses every version, and `registry list` / `audit` latency, in-process and as the CLI.

Run: .venv/bin/pytest benchmarks/test_registry_bench.py --benchmark-only -p no:randomly
The upstream outs come from a real `dvc repro` of tests/registry/fake_upstream.py (tiny models, real
dvc.lock and cache). Figures are measured side by side in one run; compare them as ratios.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from support import REPO_ROOT, dvc, make_project, perceptops

FAKE = REPO_ROOT / "tests/registry/fake_upstream.py"
OUTS = [
    "data/demo/ingest",
    "data/demo/survey",
    "descriptions/demo",
    "data/labels",
    "models/general",
    "models/finetune",
    "pseudo_labels",
    "reports/evaluation",
    "metrics/validate",
]


def _params(root: Path):
    from perceptops.config import load_params

    return load_params(root / "params.yaml")


@pytest.fixture(scope="module")
def upstream(tmp_path_factory) -> Path:
    root = make_project(tmp_path_factory.mktemp("regbench") / "p")  # default params: 8 group x scenario
    shutil.copy2(FAKE, root / "fake_upstream.py")
    outs = "".join(f"      - {o}\n" for o in OUTS)
    (root / "dvc.yaml").write_text(
        f"stages:\n  upstream:\n    cmd: python fake_upstream.py a\n    deps: [fake_upstream.py]\n    outs:\n{outs}"
    )
    (root / "dvc.lock").unlink(missing_ok=True)
    git = ["git", "-c", "user.email=t@t", "-c", "user.name=t"]
    subprocess.run([*git, "add", "-A"], cwd=root, check=True, capture_output=True)
    subprocess.run([*git, "commit", "-qm", "fake"], cwd=root, check=True, capture_output=True)
    dvc(root, "repro", "-q")
    return root


@pytest.fixture(scope="module")
def registered(upstream, tmp_path_factory):
    from perceptops.registry.register import register_all

    dest = tmp_path_factory.mktemp("regbench-reg") / "p"
    shutil.copytree(upstream, dest, symlinks=True)
    out = register_all(_params(dest), dest)
    assert len(out["models"]) == 9
    return dest


def test_register_nine_models(benchmark, upstream, tmp_path):
    from perceptops.registry.register import register_all

    n = iter(range(100))

    def setup():
        dest = tmp_path / f"p{next(n)}"
        shutil.copytree(upstream, dest, symlinks=True)
        return (_params(dest), dest), {}

    out = benchmark.pedantic(register_all, setup=setup, rounds=3, iterations=1)
    assert len(out["models"]) == 9 and all(m["version"] == "1" for m in out["models"])
    benchmark.extra_info["models"] = 9


def test_register_rerun_reuses_versions(benchmark, registered):
    from perceptops.registry.register import register_all

    out = benchmark.pedantic(register_all, args=(_params(registered), registered), rounds=3, iterations=1)
    assert all(m["version"] == "1" for m in out["models"])


def test_list_in_process(benchmark, registered):
    from perceptops.registry.listing import list_models
    from perceptops.registry.tracking import connect

    reg = connect(_params(registered), registered)
    models = benchmark(list_models, reg)
    assert len(models) == 9


def test_audit_in_process(benchmark, registered):
    from perceptops.registry.audit import audit_report
    from perceptops.registry.tracking import connect

    reg = connect(_params(registered), registered)
    rep = benchmark(audit_report, reg, "safety-women-crime", "1")
    assert rep["inputs"]["descriptions"]["md5"]


@pytest.mark.parametrize(
    "args", [("registry", "list", "--json"), ("audit", "safety-women-crime", "1", "--json")]
)
def test_cli_latency(benchmark, registered, args):
    def run():
        r = perceptops(registered, *args)
        assert r.returncode == 0, r.stderr

    benchmark.pedantic(run, rounds=3, iterations=1)
