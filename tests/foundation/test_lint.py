"""The code base passes ruff (lint and format), as `make lint` checks."""

from __future__ import annotations

import subprocess

from support import REPO_ROOT, VENV_BIN

PATHS = ["src", "tests", "stages", "benchmarks", "scripts"]


def test_ruff_check():
    r = subprocess.run(
        [str(VENV_BIN / "ruff"), "check", *PATHS], cwd=REPO_ROOT, capture_output=True, text=True
    )
    assert r.returncode == 0, r.stdout[-3000:]


def test_ruff_format():
    r = subprocess.run(
        [str(VENV_BIN / "ruff"), "format", "--check", *PATHS], cwd=REPO_ROOT, capture_output=True, text=True
    )
    assert r.returncode == 0, r.stdout[-3000:]
