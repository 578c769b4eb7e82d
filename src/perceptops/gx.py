"""The one way perceptops opens Great Expectations (1.x): an in-memory context that stays quiet."""

from __future__ import annotations

from typing import Any


def ephemeral_context() -> Any:
    """``gx.get_context(mode="ephemeral")`` without GX's per-metric tqdm bars and info logs, which would
    flood a DVC stage log (the stages show their own rich progress)."""
    import logging
    import warnings

    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig

        ctx = gx.get_context(mode="ephemeral")
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    return ctx
