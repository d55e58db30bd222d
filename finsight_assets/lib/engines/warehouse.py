"""The warehouse interface: the few statements that differ between engines, and SQL literals.

Everything else (gold SQL, audits, the publish protocol) is plain SQL that DuckDB and Snowflake
both run. The flavours: `duckdb_warehouse.py` (the embedded default), `snowflake_warehouse.py`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import date, datetime
from typing import Any, Protocol

import pyarrow as pa


def date_literal(value: date) -> str:
    """A SQL date literal; dates only ever reach SQL through this, never as free text."""
    if not isinstance(value, date):
        raise TypeError(f"expected a date, got {value!r}")
    return f"DATE '{value:%Y-%m-%d}'"


def timestamp_literal(value: datetime) -> str:
    """A SQL instant from an aware datetime (naive ones are refused: they have no zone)."""
    if value.tzinfo is None:
        raise ValueError(f"timestamp {value!r} has no time zone")
    return f"CAST({string_literal(value.isoformat())} AS TIMESTAMP WITH TIME ZONE)"


def string_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def date_list(values: Sequence[date]) -> str:
    return ", ".join(date_literal(value) for value in sorted(values))


class WriteConflict(RuntimeError):
    """Another session changed the same rows first; this session's transaction is void."""


class Warehouse(Protocol):
    """What the publish protocol and the transforms need from a warehouse connection."""

    dialect: str

    def execute(self, sql: str) -> None: ...

    def fetchall(self, sql: str) -> list[tuple[Any, ...]]: ...

    def transaction(self) -> Any: ...

    def load_parquet(self, table: str, files: Sequence[str], columns: Sequence[str]) -> None: ...

    def row_hash_sql(self, columns: Sequence[str]) -> str: ...

    def compare_hash_sql(self, columns: Sequence[str]) -> str: ...

    def fetch_arrow_batches(self, sql: str, batch_rows: int) -> Iterator[pa.RecordBatch]: ...

    def export_csv(self, sql: str, path: str) -> None: ...

    def next_value_sql(self, sequence: str) -> str: ...


# Opens a short-lived warehouse connection for one unit of work.
Connect = Callable[[], AbstractContextManager[Warehouse]]
