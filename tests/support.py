"""Helpers for tests: the repo root, the shared folder, and throwaway project copies."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent


def shared_dir() -> Path:
    env = os.environ.get("PERCEPTOPS_SHARED")
    return Path(env).resolve() if env else (REPO_ROOT / ".." / "shared").resolve()


def env_for_project(root: Path, **extra: str) -> dict[str, str]:
    """Environment for subprocesses in a project copy: venv first on PATH, offline, shared folder set."""
    env = dict(os.environ)
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env["PERCEPTOPS_SHARED"] = str(shared_dir())
    env["PERCEPTOPS_PROJECT"] = str(root)
    env.pop("MLFLOW_TRACKING_URI", None)
    env.update(extra)
    return env


def make_project(dest: Path, params_update: dict[str, Any] | None = None) -> Path:
    """Copy the repo's tracked project files (no outputs, no venv) into ``dest`` as a fresh git+dvc repo.

    ``params_update`` is deep-merged into params.yaml (e.g. a smaller demo city).
    """
    files = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=REPO_ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    dest.mkdir(parents=True, exist_ok=True)
    for rel in files:
        src = REPO_ROOT / rel
        if not src.is_file() or rel.startswith(("tests/", "benchmarks/")):
            continue
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dest / rel)
    if params_update:
        update_params(dest / "params.yaml", params_update)
    run = dict(cwd=dest, check=True, capture_output=True)
    subprocess.run(["git", "init", "-q"], **run)
    subprocess.run(["git", "-c", "user.email=t@t", "-c", "user.name=t", "add", "-A"], **run)
    subprocess.run(["git", "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "init"], **run)
    if not (dest / ".dvc").is_dir():
        subprocess.run([str(VENV_BIN / "dvc"), "init", "-q"], **run)
    return dest


def deep_merge(base: dict, update: dict) -> dict:
    """Merge ``update`` into ``base``; a key written ``"name!"`` replaces the value instead of merging."""
    out = dict(base)
    for k, v in update.items():
        if k.endswith("!"):
            out[k[:-1]] = v
        elif isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = v
    return out


def update_params(path: Path, update: dict[str, Any]) -> None:
    from ruamel.yaml import YAML

    yaml = YAML()
    data = yaml.load(path.read_text())
    merged = deep_merge(dict(data), update)
    with open(path, "w") as f:
        yaml.dump(merged, f)


def dvc(root: Path, *args: str, check: bool = True, timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(VENV_BIN / "dvc"), *args],
        cwd=root,
        env=env_for_project(root),
        capture_output=True,
        text=True,
        check=check,
        timeout=timeout,
    )


def perceptops(root: Path, *args: str, check: bool = False, timeout: float = 600, **env: str):
    return subprocess.run(
        [str(VENV_BIN / "perceptops"), *args],
        cwd=root,
        env=env_for_project(root, **env),
        capture_output=True,
        text=True,
        check=check,
        timeout=timeout,
    )
