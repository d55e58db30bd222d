"""The warehouse interface: the few statements and facts that differ between engines, and how
values reach SQL (bound parameters; safe literals only for text the code made).

Everything else (gold SQL, audits, the publish protocol) is plain SQL that DuckDB and Snowflake
both run. The flavours: `duckdb_warehouse.py` (the embedded default), `snowflake_warehouse.py`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import date, datetime
from typing import Any, Protocol

import pyarrow as pa

from finsight_assets.lib.contract.tables import Column


def string_literal(value: str) -> str:
    """A SQL string literal, for text the code itself made (constants, the files it listed);
    anything else is a bound parameter (`bind`). Engines disagree on backslashes (Snowflake
    reads them as escapes, DuckDB does not), so text holding one, a quote or a control
    character is refused rather than escaped."""
    if any(ch in value for ch in "'\\") or any(ord(ch) < 32 for ch in value):
        raise ValueError(
            f"not a safe SQL literal (quote, backslash or control character): {value!r}"
        )
    return f"'{value}'"


def bind(value: Any) -> tuple[str, list[Any]]:
    """A value as a placeholder and its parameters. Dates and instants travel as ISO text and
    are cast in SQL, so both engines read them alike; NULL is a keyword, not a value."""
    if value is None:
        return "NULL", []
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(f"timestamp {value!r} has no time zone")
        return "CAST(? AS TIMESTAMP WITH TIME ZONE)", [value.isoformat()]
    if isinstance(value, date):
        return "CAST(? AS DATE)", [value.isoformat()]
    if isinstance(value, bool | int | float | str):
        return "?", [value]
    raise TypeError(f"cannot bind {value!r}")


def bound_rows(rows: Iterable[Sequence[Any]]) -> tuple[str, list[Any]]:
    """Rows of values as `(..), (..)` placeholders (for VALUES), and their parameters in order."""
    parts, params = [], []
    for row in rows:
        sql, more = bound(row)
        parts.append(f"({sql})")
        params.extend(more)
    return ", ".join(parts), params


def bound(values: Sequence[Any]) -> tuple[str, list[Any]]:
    """Values as a comma-separated list of placeholders (a row, or an IN list), and parameters."""
    parts, params = [], []
    for value in values:
        sql, more = bind(value)
        parts.append(sql)
        params.extend(more)
    return ", ".join(parts), params


class WriteConflict(RuntimeError):
    """Another session changed the same rows first; this session's transaction is void."""


class WarehouseUnavailable(RuntimeError):
    """No connection to the warehouse now: it is busy, or (read-only) not created yet. Each
    flavour raises it for its engine's own errors of opening a connection."""


class WarehouseBusy(WarehouseUnavailable):
    """Another process or session holds the warehouse (DuckDB's file) or a lock a statement
    needs (Snowflake), and this connection gave up waiting for it; it says how long it waited."""


class Warehouse(Protocol):
    """What the publish protocol and the transforms need from a warehouse connection."""

    dialect: str
    # Whether the engine authenticates its sessions' users: then who acts is the session's
    # user (`session_user`), never a name typed by hand.
    authenticates_users: bool

    # `params` fill the statement's `?` placeholders, in order: values reach SQL only so.
    def execute(self, sql: str, params: Sequence[Any] = ()) -> None: ...

    def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...

    def transaction(self) -> Any: ...

    def count_changed(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run an INSERT, UPDATE or DELETE; the number of rows it changed."""
        ...

    # Where a run's staging tables live (`layout.staging_table`): no reader looks there.
    staging_schema: str

    def create_staging_table_sql(self, table: str, select: str) -> str:
        """The statement creating the staging table `table` (replacing one of that name) from
        `select`'s rows."""
        ...

    def session_user(self) -> str | None:
        """The user the session authenticated as (None where the engine has no users)."""
        ...

    def staged_relation(self, table: str, files: Sequence[str], columns: Sequence[Column]) -> str:
        """`table`, created with `columns` in their SQL types and loaded once from a job's
        staged Parquet files (every later step reads the table). The caller drops it when
        done."""
        ...

    # The SQL type of a stored row hash (`row_hash_sql`).
    row_hash_type: str

    def row_hash_sql(self, columns: Sequence[Column]) -> str:
        """A stable integer hash of a row's values, each cast to its column's type (the same
        values give the same hash in every process and engine release: checksums are kept)."""
        ...

    def check_hash_sql(self, columns: Sequence[Column]) -> str | None:
        """A row hash much cheaper than `row_hash_sql` and the same within one process, which a
        publish compares with its stage's instead of hashing every row it writes again
        (`replace.py`); None where the row hash costs as little, or where staged rows are
        visible to another session (which could edit one between the two)."""
        ...

    def fetch_arrow_batches(
        self, sql: str, batch_rows: int, params: Sequence[Any] = ()
    ) -> Iterator[pa.RecordBatch]: ...

    def export_csv(self, sql: str, path: str, params: Sequence[Any] = ()) -> None: ...

    def next_value_sql(self, sequence: str) -> str: ...


@contextmanager
def explicit_transaction(execute: Callable[[str], Any]) -> Iterator[None]:
    """A transaction in the session `execute` runs statements in: committed when the block
    ends, rolled back when it raises."""
    execute("BEGIN TRANSACTION")
    try:
        yield
    except BaseException:
        execute("ROLLBACK")
        raise
    execute("COMMIT")


# Opens a short-lived warehouse connection for one unit of work.
Connect = Callable[[], AbstractContextManager[Warehouse]]
