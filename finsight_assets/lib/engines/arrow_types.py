"""Fetched Arrow data in the contract's exact types, whatever the engine's driver returned.

DuckDB returns the contract's types already. Snowflake's connector returns NUMBER(18,2) as
decimal128(38,2) (with `arrow_number_to_decimal`; as double without it), a NUMBER(38,0) as the
smallest integer type that fits each result chunk, DATE as int32 days and timestamps in
nanoseconds. Each column is cast to its contract type, never through float, and refused if
the cast would lose anything.
"""

from __future__ import annotations

import pyarrow as pa


class InexactFetch(TypeError):
    """A fetched column cannot be turned into its contract type without losing value."""


def _exact_source(actual: pa.DataType, expected: pa.DataType) -> bool:
    """Whether a column of type `actual` can carry `expected` values exactly."""
    if pa.types.is_decimal(expected):
        return pa.types.is_decimal(actual) or pa.types.is_integer(actual)
    if pa.types.is_integer(expected):
        return pa.types.is_integer(actual) or (pa.types.is_decimal(actual) and actual.scale == 0)
    if pa.types.is_date(expected):
        return pa.types.is_date(actual) or actual == pa.int32()
    if pa.types.is_timestamp(expected):
        return pa.types.is_timestamp(actual) and actual.tz is not None
    return actual == expected or pa.types.is_null(actual)


def conform(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    """`batch` with its columns (matched by name, in `schema`'s order) in the contract's types."""
    columns = []
    for field in schema:
        if field.name not in batch.schema.names:
            raise InexactFetch(f"the result has no column {field.name}: {batch.schema.names}")
        column = batch.column(field.name)
        if not _exact_source(column.type, field.type):
            raise InexactFetch(
                f"column {field.name} arrived as {column.type}, which cannot be converted to "
                f"{field.type} exactly (Snowflake: connect with arrow_number_to_decimal=True)"
            )
        try:
            columns.append(column.cast(field.type, safe=True))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as error:
            raise InexactFetch(f"column {field.name} as {field.type}: {error}") from error
    return pa.RecordBatch.from_arrays(columns, schema=schema.remove_metadata())
