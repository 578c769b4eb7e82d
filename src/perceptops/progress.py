"""One rich progress bar style for long work (rate, ETA, extra counters)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")


def make_progress(**extra_fields: str):
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    cols = [
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
    ]
    for key in extra_fields:
        cols.append(TextColumn(f"{key}={{task.fields[{key}]}}"))
    return Progress(*cols, transient=False)


def track(items: Iterable[T], description: str, total: int | None = None) -> Iterator[T]:
    """rich.progress.track with our columns; quiet when stdout is not a terminal is handled by rich."""
    from rich.progress import track as _track

    yield from _track(items, description=description, total=total)
