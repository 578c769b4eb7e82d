"""Promotion gates, refusals with numbers, --force --reason, events (tags + JSONL), rollback, races."""

from __future__ import annotations

import json
import threading

import pytest
from registry_helpers import add_version

from perceptops.errors import ConfigError
from perceptops.registry import events as ev
from perceptops.registry.promotion import ConcurrentChange, PromotionRefused, promote, rollback

NAME = "safety-women-crime"


def champion(reg, name=NAME):
    return str(reg.client.get_model_version_by_alias(name, "champion").version)


def test_promote_sets_champion_and_records_event(bare_reg):
    add_version(bare_reg, NAME, acc=0.7)
    e = promote(bare_reg, NAME, "1")
    assert champion(bare_reg) == "1"
    assert e["action"] == "promote" and e["from"] is None and e["to"] == "1" and e["user"] == "tester"
    assert {g["gate"] for g in e["gates"]} == {"min_accuracy", "no_regression", "validation", "drift"}
    assert all(g["passed"] for g in e["gates"])
    tagged = ev.model_events(bare_reg, NAME)
    logged = ev.read_log(bare_reg.events_log(), NAME)
    assert tagged == logged == [e]
    assert bare_reg.events_log() == bare_reg.root / "mlflow/events.jsonl"
    assert set(e) >= {"time", "user", "model", "from", "to", "gates", "reason", "action"}


def test_refusal_lists_each_failed_gate_with_numbers(bare_reg):
    add_version(bare_reg, NAME, acc=0.7)
    promote(bare_reg, NAME, "1")
    add_version(bare_reg, NAME, acc=0.40, validation="false")
    with pytest.raises(PromotionRefused) as info:
        promote(bare_reg, NAME, "2")
    msg = str(info.value)
    assert "min_accuracy: FAIL: accuracy 0.4000 < min_accuracy 0.5000" in msg
    assert "no_regression: FAIL: accuracy 0.4000 vs champion v1 0.7000" in msg and "floor 0.6800" in msg
    assert "validation: FAIL" in msg and "drift" not in msg  # only failed gates are listed
    assert info.value.exit_code != 0
    assert champion(bare_reg) == "1"
    last = ev.model_events(bare_reg, NAME)[-1]
    assert last["action"] == "refused" and last["to"] == "2" and last["from"] == "1"


def test_small_regression_within_tolerance_passes(bare_reg):
    add_version(bare_reg, NAME, acc=0.70)
    promote(bare_reg, NAME, "1")
    add_version(bare_reg, NAME, acc=0.685)  # within max_regression 0.02
    promote(bare_reg, NAME, "2")
    assert champion(bare_reg) == "2"


def test_regression_on_other_evaluation_data_is_not_comparable(bare_reg):
    add_version(bare_reg, NAME, acc=0.70, data_md5="old")
    promote(bare_reg, NAME, "1")
    add_version(bare_reg, NAME, acc=0.90, data_md5="new")
    with pytest.raises(PromotionRefused, match=r"evaluated on other data .*old vs new"):
        promote(bare_reg, NAME, "2")


def test_version_without_evaluation_metrics_is_refused(bare_reg):
    add_version(bare_reg, NAME, acc=None)
    with pytest.raises(PromotionRefused, match=r"no evaluation metrics recorded for version 1"):
        promote(bare_reg, NAME, "1")
    with pytest.raises(Exception, match="alias champion not found|champion"):
        champion(bare_reg)


def test_unresolved_drift_blocks_until_accepted(bare_reg):
    from perceptops.monitor.accept import accept

    add_version(bare_reg, NAME, acc=0.7)
    d = bare_reg.root / "metrics/drift"
    d.mkdir(parents=True)
    (d / "demo.json").write_text(json.dumps({"verdict": "drifted", "drift_share": 0.6}))
    report = bare_reg.root / "monitoring/reports/demo"
    report.mkdir(parents=True)
    (report / "summary.json").write_text(json.dumps({"verdict": "drifted", "drift_share": 0.6}))
    with pytest.raises(PromotionRefused, match=r"drift: FAIL: demo drifted .*not accepted.*--accept demo"):
        promote(bare_reg, NAME, "1")
    accept(bare_reg.root, "demo", "new season, reviewed by ops", by="ops")
    e = promote(bare_reg, NAME, "1")
    gate = [g for g in e["gates"] if g["gate"] == "drift"][0]
    assert gate["passed"] and "new season" in gate["detail"]
    # a newer report is not covered by the old acceptance
    (report / "summary.json").write_text(json.dumps({"verdict": "drifted", "drift_share": 0.7}))
    add_version(bare_reg, NAME, acc=0.7)
    with pytest.raises(PromotionRefused, match=r"drift: FAIL"):
        promote(bare_reg, NAME, "2")


def test_force_needs_reason_and_is_recorded(bare_reg):
    add_version(bare_reg, NAME, acc=0.3)
    with pytest.raises(ConfigError, match="--force needs --reason"):
        promote(bare_reg, NAME, "1", force=True)
    e = promote(bare_reg, NAME, "1", force=True, reason="hotfix approved by ops")
    assert champion(bare_reg) == "1"
    assert e["action"] == "force-promote" and e["reason"] == "hotfix approved by ops"
    assert not [g for g in e["gates"] if g["gate"] == "min_accuracy"][0]["passed"]
    assert ev.read_log(bare_reg.events_log(), NAME)[-1] == e


def test_unknown_model_and_version(bare_reg):
    add_version(bare_reg, NAME)
    with pytest.raises(
        ConfigError, match=r"unknown model 'safety-nobody'; registered models: safety-women-crime"
    ):
        promote(bare_reg, "safety-nobody", "1")
    with pytest.raises(ConfigError, match=r"model 'safety-women-crime' has no version '7'; versions: 1"):
        promote(bare_reg, NAME, "7")
    with pytest.raises(ConfigError, match="unknown model"):
        rollback(bare_reg, "safety-nobody")
    assert not bare_reg.events_log().exists()


def test_rollback_walks_back_the_champion_history(bare_reg):
    for acc in (0.70, 0.71, 0.72):
        add_version(bare_reg, NAME, acc=acc)
    for v in ("1", "2", "3"):
        promote(bare_reg, NAME, v)
    e = rollback(bare_reg, NAME, reason="v3 misbehaves")
    assert champion(bare_reg) == "2" and (e["from"], e["to"], e["action"]) == ("3", "2", "rollback")
    rollback(bare_reg, NAME)
    assert champion(bare_reg) == "1"
    with pytest.raises(ConfigError, match="no previous champion"):
        rollback(bare_reg, NAME)
    assert [(x["action"], x["from"], x["to"]) for x in ev.read_log(bare_reg.events_log(), NAME)] == [
        ("promote", None, "1"),
        ("promote", "1", "2"),
        ("promote", "2", "3"),
        ("rollback", "3", "2"),
        ("rollback", "2", "1"),
    ]


def test_rollback_without_champion(bare_reg):
    add_version(bare_reg, NAME)
    with pytest.raises(ConfigError, match="has no champion"):
        rollback(bare_reg, NAME)


def test_two_racing_promotions_one_wins_log_consistent(bare_reg):
    for acc in (0.70, 0.71, 0.72):
        add_version(bare_reg, NAME, acc=acc)
    promote(bare_reg, NAME, "1")
    barrier = threading.Barrier(2, timeout=30)  # both have read the champion and passed the gates
    results: dict[str, object] = {}

    def go(v):
        try:
            results[v] = promote(bare_reg, NAME, v, _after_gates=barrier.wait)
        except Exception as err:  # noqa: BLE001
            results[v] = err

    threads = [threading.Thread(target=go, args=(v,)) for v in ("2", "3")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    won = [v for v, r in results.items() if isinstance(r, dict)]
    lost = [r for r in results.values() if isinstance(r, ConcurrentChange)]
    assert len(won) == 1 and len(lost) == 1, results
    assert "another promotion won" in str(lost[0])
    assert champion(bare_reg) == won[0]
    log = [e for e in ev.read_log(bare_reg.events_log(), NAME) if e["action"] != "refused"]
    assert [(e["from"], e["to"]) for e in log] == [(None, "1"), ("1", won[0])]
    assert ev.model_events(bare_reg, NAME) == ev.read_log(bare_reg.events_log(), NAME)
