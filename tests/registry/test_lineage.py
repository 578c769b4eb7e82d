"""Lineage helpers: git state, md5 outside DVC, missing inputs, describer metadata."""

from __future__ import annotations

import subprocess

import pandas as pd
import pytest

from perceptops.errors import DataError
from perceptops.registry.lineage import DvcLock, describer_info, git_info
from perceptops.utils import md5_file


def _git(d, *a):
    subprocess.run(
        ["git", "-c", "user.email=t@t", "-c", "user.name=t", *a], cwd=d, check=True, capture_output=True
    )


def test_dirty_means_code_changed_not_dvc_lock(tmp_path):
    _git(tmp_path, "init", "-q")
    (tmp_path / "dvc.lock").write_text("a")
    (tmp_path / "x.py").write_text("a")
    _git(tmp_path, "add", "-A")
    _git(tmp_path, "commit", "-qm", "i")
    info = git_info(tmp_path)
    assert len(info["git.commit"]) == 40 and info["git.dirty"] == "false"
    (tmp_path / "dvc.lock").write_text("b")  # dvc repro rewrites it mid-run
    assert git_info(tmp_path)["git.dirty"] == "false"
    (tmp_path / "x.py").write_text("b")
    assert git_info(tmp_path)["git.dirty"] == "true"


def test_outside_git_and_dvc(tmp_path):
    assert git_info(tmp_path)["git.commit"] == "unknown"
    f = tmp_path / "descriptions/c/general.parquet"
    f.parent.mkdir(parents=True)
    pd.DataFrame(
        {"image_id": ["a"], "backend": ["openai"], "model": ["llava"], "prompt_hash": ["p1"]}
    ).to_parquet(f)
    fm = DvcLock(tmp_path).file_md5(f)
    assert (fm.path, fm.md5, fm.source, fm.out) == (
        "descriptions/c/general.parquet",
        md5_file(f),
        "file",
        None,
    )
    assert describer_info(f) == {
        "describer.backend": "openai",
        "describer.model": "llava",
        "describer.prompt_hash": "p1",
    }
    with pytest.raises(DataError, match=r"descriptions/c/women-crime.parquet does not exist: run the stage"):
        DvcLock(tmp_path).file_md5("descriptions/c/women-crime.parquet")


def test_file_missing_from_a_directory_out(tmp_path):
    import json

    (tmp_path / "dvc.lock").write_text(
        "schema: '2.0'\nstages:\n  d:\n    cmd: x\n    outs:\n    - path: descriptions/c\n      md5: abcdef.dir\n"
    )
    obj = tmp_path / ".dvc/cache/files/md5/ab/cdef.dir"
    obj.parent.mkdir(parents=True)
    obj.write_text(json.dumps([{"md5": "0" * 32, "relpath": "general.parquet"}]))
    lock = DvcLock(tmp_path)
    assert lock.file_md5("descriptions/c/general.parquet").md5 == "0" * 32
    with pytest.raises(
        DataError, match=r"descriptions/c/men-crime.parquet is not in the DVC out descriptions/c"
    ):
        lock.file_md5("descriptions/c/men-crime.parquet")
    obj.unlink()
    with pytest.raises(DataError, match=r"manifest abcdef.dir is in neither the cache nor the remote"):
        DvcLock(tmp_path).file_md5("descriptions/c/general.parquet")
