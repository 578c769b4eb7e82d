"""Promotion / rollback events: registered-model tags (shared in server mode) + an append-only JSONL log.

MLflow keeps no alias history, so every change of ``champion`` (and every refusal) is written here.
Tag keys are ``event.<UTC time>.<random>``: they sort by time and never collide between clients.
A file lock per model serialises promotions on one machine (see :func:`model_lock`).
"""

from __future__ import annotations

import fcntl
import getpass
import json
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

TAG_PREFIX = "event."
PUSH = ("promote", "force-promote", "auto-promote")  # actions that make `to` the champion
MAX_TAG = 4900  # MLflow caps registered-model tag values at 5000 characters


def user() -> str:
    return os.environ.get("PERCEPTOPS_USER") or getpass.getuser()


def now() -> datetime:
    return datetime.now(UTC)


def make_event(
    action: str,
    model: str,
    from_v: str | None,
    to_v: str | None,
    gates: list[dict[str, Any]],
    reason: str | None,
) -> dict[str, Any]:
    t = now()
    return {
        "id": f"{t.strftime('%Y%m%dT%H%M%S.%f')}.{uuid.uuid4().hex[:8]}",
        "time": t.isoformat(timespec="microseconds"),
        "user": user(),
        "action": action,
        "model": model,
        "from": from_v,
        "to": to_v,
        "gates": gates,
        "reason": reason,
    }


def tag_value(event: dict[str, Any]) -> str:
    s = json.dumps(event, sort_keys=True, separators=(",", ":"))
    if len(s) > MAX_TAG:  # keep the record valid JSON: drop gate details, keep names and verdicts
        slim = dict(event, gates=[{"gate": g["gate"], "passed": g["passed"]} for g in event["gates"]])
        s = json.dumps(slim, sort_keys=True, separators=(",", ":"))
    return s


def record(reg: Any, event: dict[str, Any]) -> None:
    """Write the event to the registry first (the shared record), then append it to the local log."""
    reg.client.set_registered_model_tag(event["model"], TAG_PREFIX + event["id"], tag_value(event))
    append_log(reg.events_log(), event)


def append_log(path: Path, event: dict[str, Any]) -> None:
    """One line per event, O_APPEND + flock: concurrent writers never interleave or truncate lines."""
    path.parent.mkdir(parents=True, exist_ok=True)
    line = (json.dumps(event, sort_keys=True) + "\n").encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, line)
        os.fsync(fd)
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def read_log(path: Path, model: str | None = None) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    out = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [e for e in out if model is None or e.get("model") == model]


def from_tags(tags: dict[str, str]) -> list[dict[str, Any]]:
    """Events of one registered model from its tags, oldest first."""
    evs = [json.loads(v) for k, v in tags.items() if k.startswith(TAG_PREFIX)]
    return sorted(evs, key=lambda e: e["id"])


def model_events(reg: Any, name: str) -> list[dict[str, Any]]:
    return from_tags(reg.client.get_registered_model(name).tags or {})


def champion_stack(events: list[dict[str, Any]]) -> list[str]:
    """Champion history as a stack: promotions push, rollbacks pop (so rollback twice goes back twice)."""
    stack: list[str] = []
    for e in events:
        if e["action"] in PUSH:
            stack.append(str(e["to"]))
        elif e["action"] == "rollback" and stack:
            stack.pop()
    return stack


@contextmanager
def model_lock(reg: Any, name: str) -> Iterator[None]:
    """Exclusive per-model lock beside the events log (serialises promote/rollback on this machine)."""
    d = reg.events_log().parent / ".locks"
    d.mkdir(parents=True, exist_ok=True)
    fd = os.open(d / f"{name}.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
