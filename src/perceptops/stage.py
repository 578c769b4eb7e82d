"""Shared entry point of the thin scripts in stages/: load params, run, turn user errors into one line."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from perceptops.errors import PerceptopsError


def run_stage(fn: Callable[..., Any], *args: Any) -> None:
    """Run ``fn(*args)``; a PerceptopsError prints one clear line and exits non-zero (DVC stops there)."""
    try:
        fn(*args)
    except PerceptopsError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(err.exit_code)
