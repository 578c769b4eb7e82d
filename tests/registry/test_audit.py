"""Audit report names dvc.lock's md5s; --export reproduces the training rows byte for byte or fails naming the file."""

from __future__ import annotations

import json
import os

import pytest
from registry_helpers import load

from perceptops.errors import DataError
from perceptops.registry.audit import audit_report, export
from perceptops.registry.lineage import object_path
from perceptops.registry.tracking import connect
from support import dvc

pytestmark = pytest.mark.integration
NAME = "safety-women-traffic"
DESC = "descriptions/demo/women-traffic.parquet"


def _report(root):
    reg = connect(load(root), root)
    return reg, audit_report(reg, NAME, "1")


def _cache_obj(root, md5):
    return object_path(root / ".dvc/cache", md5)


def test_audit_names_dvc_lock_md5_and_export_is_byte_exact(registered, tmp_path):
    root, _ = registered
    reg, rep = _report(root)
    d = rep["inputs"]["descriptions"]
    assert d["path"] == DESC and d["out"] == "descriptions/demo" and d["source"] == "dvc.lock"
    assert rep["group"] == "women" and rep["scenario"] == "traffic" and rep["base_general_version"] == "1"
    assert rep["describer"]["prompt_hash"] == "ph-women-traffic"
    assert [e["action"] for e in rep["events"]] == ["auto-promote"]
    original = (root / DESC).read_bytes()
    (root / DESC).write_bytes(b"the workspace moved on")  # the export must not read the workspace
    files = export(reg, rep, tmp_path / "out")
    assert (tmp_path / "out" / DESC).read_bytes() == original
    assert (tmp_path / "out/pseudo_labels/women-traffic.parquet").read_bytes() == (
        root / "pseudo_labels/women-traffic.parquet"
    ).read_bytes()
    assert json.loads((tmp_path / "out/lineage.json").read_text())["version"] == "1"
    assert len(files) == 3


def test_export_of_a_changed_cache_file_is_an_md5_mismatch(registered, tmp_path):
    root, _ = registered
    reg, rep = _report(root)
    obj = _cache_obj(root, rep["inputs"]["descriptions"]["md5"])
    os.chmod(obj, 0o644)
    obj.write_bytes(b"tampered")
    with pytest.raises(DataError, match=rf"cannot export {DESC}: .*DVC cache: md5 mismatch, recorded"):
        export(reg, rep, tmp_path / "out")
    assert not (tmp_path / "out").exists()  # nothing half-written


def test_export_of_a_deleted_file_is_an_error_then_the_remote_serves_it(registered, tmp_path):
    root, _ = registered
    reg, rep = _report(root)
    md5 = rep["inputs"]["descriptions"]["md5"]
    obj = _cache_obj(root, md5)
    original = obj.read_bytes()
    obj.unlink()
    with pytest.raises(DataError, match=rf"cannot export {DESC}: .*DVC cache: missing"):
        export(reg, rep, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    obj.parent.mkdir(parents=True, exist_ok=True)
    obj.write_bytes(original)
    dvc(root, "push", "-q")  # the demo's local remote (../dvc-remote from .dvc)
    obj.unlink()
    export(reg, rep, tmp_path / "out")
    assert (tmp_path / "out" / DESC).read_bytes() == original
