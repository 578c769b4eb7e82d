"""Great Expectations (1.x) checks of a description table before it becomes a DVC out."""

from __future__ import annotations

from typing import Any

from perceptops.errors import DataError


def validate_descriptions(tables: dict[str, Any], valid_ids: set[str], city: str) -> None:
    """Non-empty text, rating in 1-10, one row per image, no ids outside valid.parquet; else DataError.

    ``tables`` maps a target name to its description DataFrame; one GX context checks them all.
    """
    from perceptops.gx import ephemeral_context

    ctx = ephemeral_context()
    source = ctx.data_sources.add_pandas("describe")
    problems = []
    for name, df in tables.items():
        problems += _check(ctx, source, df, valid_ids, name)
    if problems:
        raise DataError(f"descriptions of city {city!r} failed validation: " + "; ".join(problems))


def _check(ctx: Any, source: Any, df: Any, valid_ids: set[str], name: str) -> list[str]:
    import great_expectations as gx
    import great_expectations.expectations as gxe

    batch = (
        source.add_dataframe_asset(name)
        .add_batch_definition_whole_dataframe("all")
        .get_batch(batch_parameters={"dataframe": df})
    )
    suite = gx.ExpectationSuite(name=f"descriptions-{name}")
    for exp in (
        gxe.ExpectColumnValuesToNotBeNull(column="text"),
        gxe.ExpectColumnValueLengthsToBeBetween(column="text", min_value=1),
        gxe.ExpectColumnValuesToNotBeNull(column="rating"),
        gxe.ExpectColumnValuesToBeBetween(column="rating", min_value=1, max_value=10),
        gxe.ExpectColumnValuesToBeUnique(column="image_id"),
        gxe.ExpectColumnValuesToBeInSet(column="image_id", value_set=sorted(valid_ids)),
    ):
        suite.add_expectation(exp)
    suite = ctx.suites.add(suite)
    res = batch.validate(suite)
    bad = []
    for r in res.results:
        if not r.success:
            cfg = r.expectation_config
            ex = (r.result or {}).get("partial_unexpected_list", [])[:3]
            bad.append(f"{name}.parquet: {cfg.type} on {cfg.kwargs.get('column')!r} (e.g. {ex})")
    return bad
