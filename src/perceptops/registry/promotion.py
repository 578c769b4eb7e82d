"""Promotion gates, promote (with --force --reason), rollback. Every outcome is an event (events.py).

Gates (params ``promotion``):
- ``min_accuracy``: the version's accuracy on its own group's evaluation (tag ``eval.accuracy``: the
  fine-tune's accuracy against its group's survey; for ``safety-general`` its mean over the groups);
- ``no_regression``: not below the current champion's accuracy minus ``max_regression``, compared only
  on the same evaluation data (tag ``eval.data_md5``), otherwise the numbers mean nothing;
- ``validation``: data validation passed for the training city (``require_validation``);
- ``drift``: no ``drifted`` verdict without an acceptance for the training city (``require_no_drift``).
"""

from __future__ import annotations

from typing import Any

from perceptops.errors import ConfigError, DataError, PerceptopsError
from perceptops.registry import CHAMPION
from perceptops.registry import events as ev


class PromotionRefused(DataError):
    """One or more gates failed and --force was not given."""

    exit_code = 3


class ConcurrentChange(PerceptopsError):
    """The champion moved while this promotion checked its gates (another promotion won the race)."""

    exit_code = 4


def _float(tags: dict[str, str], key: str) -> float | None:
    try:
        return float(tags[key])
    except (KeyError, ValueError):
        return None


def champion_version(reg: Any, name: str) -> Any | None:
    try:
        return reg.client.get_model_version_by_alias(name, CHAMPION)
    except Exception:
        return None


def check_gates(reg: Any, mv: Any, champion: Any | None) -> list[dict[str, Any]]:
    """Each gate as {gate, passed, detail, value, threshold}; nothing is skipped silently."""
    p = reg.params.promotion
    tags = mv.tags or {}
    gates: list[dict[str, Any]] = []
    acc = _float(tags, "eval.accuracy")
    if acc is None:
        gates.append(
            dict(
                gate="min_accuracy",
                passed=False,
                value=None,
                threshold=p.min_accuracy,
                detail=f"no evaluation metrics recorded for version {mv.version} (tag eval.accuracy): "
                "run the evaluate stage, then register again",
            )
        )
    else:
        gates.append(
            dict(
                gate="min_accuracy",
                passed=acc >= p.min_accuracy,
                value=acc,
                threshold=p.min_accuracy,
                detail=f"accuracy {acc:.4f} {'>=' if acc >= p.min_accuracy else '<'} "
                f"min_accuracy {p.min_accuracy:.4f}",
            )
        )

    if champion is None or str(champion.version) == str(mv.version):
        gates.append(
            dict(
                gate="no_regression",
                passed=True,
                value=acc,
                threshold=None,
                detail="no current champion to compare with",
            )
        )
    else:
        ctags = champion.tags or {}
        cacc = _float(ctags, "eval.accuracy")
        same = ctags.get("eval.data_md5") and ctags.get("eval.data_md5") == tags.get("eval.data_md5")
        if acc is None or cacc is None:
            gates.append(
                dict(
                    gate="no_regression",
                    passed=False,
                    value=acc,
                    threshold=cacc,
                    detail=f"cannot compare with champion v{champion.version}: accuracy missing",
                )
            )
        elif not same:
            gates.append(
                dict(
                    gate="no_regression",
                    passed=False,
                    value=acc,
                    threshold=cacc,
                    detail=f"champion v{champion.version} was evaluated on other data (evaluation md5 "
                    f"{ctags.get('eval.data_md5')} vs {tags.get('eval.data_md5')}): not comparable",
                )
            )
        else:
            floor = cacc - p.max_regression
            ok = acc >= floor - 1e-12
            gates.append(
                dict(
                    gate="no_regression",
                    passed=ok,
                    value=acc,
                    threshold=floor,
                    detail=f"accuracy {acc:.4f} vs champion v{champion.version} {cacc:.4f} "
                    f"(max_regression {p.max_regression:.4f}: floor {floor:.4f})",
                )
            )

    city = tags.get("train_city", "?")
    if p.require_validation:
        v = tags.get("data.validation_passed")
        gates.append(
            dict(
                gate="validation",
                passed=v == "true",
                value=v,
                threshold="true",
                detail=f"data validation of {city}: "
                + {"true": "passed", "false": f"failed ({tags.get('data.validation_file', '')})"}.get(
                    v or "", "no result recorded (metrics/validate/<city>.json missing at registration)"
                ),
            )
        )
    if p.require_no_drift:
        gates.append(drift_gate(reg, city))
    return gates


def drift_gate(reg: Any, city: str) -> dict[str, Any]:
    """The city's current drift verdict and whether a person accepted *this* report (monitor.accept)."""
    from perceptops.monitor.accept import drift_status

    st = drift_status(reg.root, city)
    verdict = st["verdict"]
    if verdict is None:
        detail = f"no drift report for {city} (metrics/drift/{city}.json)"
    elif verdict != "drifted":
        detail = f"drift verdict for {city}: {verdict}"
    elif st["accepted"]:
        detail = f"{city} drifted, accepted: {st['latest_acceptance'].get('reason', '')}"
    else:
        detail = (
            f"{city} drifted (metrics/drift/{city}.json) and the current report is not accepted: review "
            f"monitoring/reports/{city}/report.html, then `perceptops drift --accept {city} --reason TEXT`"
        )
    return dict(
        gate="drift", passed=bool(st["resolved"]), value=verdict, threshold="not drifted", detail=detail
    )


def format_gates(gates: list[dict[str, Any]], only_failed: bool = False) -> str:
    return "\n".join(
        f"  - {g['gate']}: {'PASS' if g['passed'] else 'FAIL'}: {g['detail']}"
        for g in gates
        if not (only_failed and g["passed"])
    )


def promote(
    reg: Any,
    name: str,
    version: str | int,
    *,
    force: bool = False,
    reason: str | None = None,
    action: str | None = None,
    _after_gates: Any = None,
) -> dict[str, Any]:
    """Set ``champion`` to NAME/VERSION if every gate passes (or --force --reason); return the event."""
    from perceptops.registry.tracking import get_version

    if force and not (reason and reason.strip()):
        raise ConfigError("--force needs --reason TEXT (the reason is recorded with the promotion)")
    mv = get_version(reg, name, version=version)
    champ = champion_version(reg, name)
    from_v = None if champ is None else str(champ.version)
    if from_v == str(mv.version):
        raise ConfigError(f"{name} version {mv.version} is already the champion; nothing to promote")
    gates = check_gates(reg, mv, champ)
    if _after_gates is not None:  # test hook: hold here so two promotions really race
        _after_gates()
    failed = [g for g in gates if not g["passed"]]
    act = action or ("force-promote" if force and failed else "promote")
    with ev.model_lock(reg, name):
        if failed and not force:
            ev.record(reg, ev.make_event("refused", name, from_v, str(mv.version), gates, reason))
            raise PromotionRefused(
                f"promotion of {name} version {mv.version} refused, {len(failed)} gate(s) failed:\n"
                + format_gates(gates, only_failed=True)
                + "\n(use --force --reason TEXT to override; the override is recorded)"
            )
        # Compare-and-set: the champion must still be the one the gates compared against.
        now_champ = champion_version(reg, name)
        now_v = None if now_champ is None else str(now_champ.version)
        if now_v != from_v:
            raise ConcurrentChange(
                f"{name}: champion changed from {from_v} to {now_v} while the gates of version {mv.version} "
                "were checked (another promotion won); re-run the promotion to compare with the new champion"
            )
        reg.client.set_registered_model_alias(name, CHAMPION, str(mv.version))
        event = ev.make_event(act, name, from_v, str(mv.version), gates, reason)
        ev.record(reg, event)
    return event


def rollback(reg: Any, name: str, reason: str | None = None) -> dict[str, Any]:
    """Return ``champion`` to the one before it (by the event history; rollbacks stack)."""
    from perceptops.registry.tracking import ensure_model, get_version

    ensure_model(reg, name)
    with ev.model_lock(reg, name):
        champ = champion_version(reg, name)
        if champ is None:
            raise ConfigError(f"{name} has no champion: nothing to roll back (promote a version first)")
        cur = str(champ.version)
        stack = ev.champion_stack(ev.model_events(reg, name))
        prev = next(
            (v for v in reversed(stack[:-1] if stack and stack[-1] == cur else stack) if v != cur), None
        )
        if prev is None:
            raise ConfigError(f"{name}: champion v{cur} has no previous champion to roll back to")
        get_version(reg, name, version=prev)  # still exists?
        reg.client.set_registered_model_alias(name, CHAMPION, prev)
        event = ev.make_event("rollback", name, cur, prev, [], reason)
        ev.record(reg, event)
    return event
