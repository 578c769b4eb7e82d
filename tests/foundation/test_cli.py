"""The CLI: fast start-up (no heavy imports), --version, --help everywhere, clean errors."""

from __future__ import annotations

import subprocess
import sys

import pytest

from support import REPO_ROOT, VENV_BIN

HEAVY = (
    "torch",
    "mlflow",
    "evidently",
    "great_expectations",
    "transformers",
    "bentoml",
    "ai_edge_litert",
    "matplotlib",
    "pandas",
    "dvc",
)


def run(*args: str, cwd=REPO_ROOT, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(VENV_BIN / "perceptops"), *args], cwd=cwd, capture_output=True, text=True, timeout=120, **kw
    )


def test_cli_start_up_imports_nothing_heavy():
    # `perceptops --help` must answer in about a second: measure what it imports, not the clock.
    code = (
        f"import sys, perceptops.cli; heavy={HEAVY!r}; print(','.join(m for m in heavy if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_version():
    r = run("--version")
    assert r.returncode == 0 and r.stdout.startswith("perceptops ")


def test_help_lists_commands():
    r = run("--help")
    assert r.returncode == 0
    for cmd in ("status", "params"):
        assert cmd in r.stdout


def _commands() -> list[list[str]]:
    """Every command and sub-command of the Typer app."""
    import typer.main

    from perceptops.cli import app

    root = typer.main.get_command(app)
    found: list[list[str]] = []

    def walk(cmd, path):
        subs = getattr(cmd, "commands", None)
        if subs:
            for name, sub in subs.items():
                walk(sub, [*path, name])
        else:
            found.append(path)

    walk(root, [])
    return found


@pytest.mark.parametrize("path", _commands(), ids=lambda p: " ".join(p))
def test_every_command_has_help(path):
    r = run(*path, "--help")
    assert r.returncode == 0, r.stderr
    assert "Usage" in r.stdout


def test_outside_a_project_is_one_clear_error(tmp_path):
    r = run("status", cwd=tmp_path)
    assert r.returncode != 0
    assert "params.yaml" in r.stderr and "Traceback" not in r.stderr
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_invalid_params_is_one_clear_error(tmp_path):
    (tmp_path / "params.yaml").write_text((REPO_ROOT / "params.yaml").read_text().replace("k_sd:", "k_sdd:"))
    r = run("params", "--check", cwd=tmp_path)
    assert r.returncode == 2
    assert "labels.k_sdd" in r.stderr and "Traceback" not in r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["params.yaml"]


def test_status_json_in_checkout():
    r = run("status", "--json")
    assert r.returncode == 0, r.stderr
    assert '"train_city": "demo"' in r.stdout
