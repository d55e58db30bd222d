"""The DuckDB flavour of the warehouse (the embedded default): one file, short-lived connections,
explicit transactions, staged Parquet loaded once into a staging table."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from finsight_assets.lib.contract.run_tags import BACKFILL_LANE, DAILY_LANE
from finsight_assets.lib.contract.tables import TIMESTAMP_SQL, Column
from finsight_assets.lib.engines.owners import owner_alive, owner_tag
from finsight_assets.lib.engines.warehouse import (
    WarehouseBusy,
    WarehouseUnavailable,
    WriteConflict,
    explicit_transaction,
    string_literal,
)
from finsight_assets.lib.wap.layout import ensure_schema, sweep_orphaned_staging

logger = logging.getLogger(__name__)

# The marker a waiting daily run leaves beside the DuckDB file.
DAILY_WAITING = "daily-waiting"

# A step's DuckDB memory is bounded by this, not by how many days it computes: beyond it DuckDB
# spills to its temporary directory (its default is 80 % of the machine's memory).
DUCKDB_CONFIG = {"memory_limit": "1GB"}

# How often a connection tries the DuckDB file while another process holds its write lock, with
# pauses growing to LOCK_PAUSE_SECONDS: about three hours in all, longer than any backfill step
# holds it, so a run waits its turn rather than fail (a sensor tick tries a few times only); then
# WarehouseBusy, saying how long it waited. Inside the file no session waits for another: a
# second writer of a publish lock row is refused at once (WriteConflict), so DuckDB needs no
# lock wait like Snowflake's `LOCK_TIMEOUT_SECONDS`.
LOCK_PAUSE_SECONDS = 2.0
LOCK_ATTEMPTS = 5400
# How often a waiting connection says so in the log.
LOCK_WAIT_REPORT_SECONDS = 60.0


# The schema of a DuckDB connection's temporary tables.
TEMPORARY_SCHEMA = "temp.main"

# A NULL in a row's hash text (`_row_text`), as a DuckDB literal (no escapes in DuckDB text).
NULL_TEXT = "'\\N'"


def _value_text(column: Column) -> str:
    """`column`'s value as the text `CAST(value AS VARCHAR)` gives in a UTC session.

    A timestamp with time zone is printed from its microseconds as a plain timestamp (the same
    text, without the time zone conversion, which costs more than the MD5); its infinities,
    which have no microseconds, are cast as before."""
    value = f"CAST({column.name} AS {column.sql_type})"
    if column.sql_type.upper() == TIMESTAMP_SQL:
        return (
            f"CASE WHEN isfinite({value}) THEN "
            f"CAST(make_timestamp(epoch_us({value})) AS VARCHAR) || '+00' "
            f"ELSE CAST({value} AS VARCHAR) END"
        )
    return f"CAST({value} AS VARCHAR)"


def _row_text(columns: Sequence[Column]) -> str:
    """A row's values as text, `|`-separated, NULL as `\\N`: built by one concat_ws, not by
    a chain of `||` (each of which copies the text so far)."""
    parts = [f"COALESCE({_value_text(column)}, {NULL_TEXT})" for column in columns]
    return f"concat_ws('|', {', '.join(parts)})"


class DuckDBWarehouse:
    """The DuckDB flavour: one connection, explicit transactions, staged Parquet loaded once."""

    dialect = "duckdb"
    # One file on one machine: DuckDB has no users to authenticate.
    authenticates_users = False
    # The SQL type of a stored row hash (`row_hash_sql`: 60 bits).
    row_hash_type = "BIGINT"
    # Staging tables are the connection's temporary tables: staged rows are never written to
    # the file (the versions table is their one write), vanish with the connection, so a
    # killed run leaves none, and may be changed in a transaction that writes the file (which
    # an attached in-memory database may not). Past the memory limit they spill to disk.
    staging_schema = TEMPORARY_SCHEMA

    def __init__(self, connection: duckdb.DuckDBPyConnection):
        self.connection = connection
        # Timestamps are stored as UTC instants; pin the session zone so casts never depend
        # on the machine running the step.
        self.connection.execute("SET TimeZone = 'UTC'")

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._run(sql, params)

    def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._run(sql, params).fetchall()

    def _run(self, sql: str, params: Sequence[Any]) -> duckdb.DuckDBPyConnection:
        try:
            return (
                self.connection.execute(sql, list(params))
                if params
                else self.connection.execute(sql)
            )
        except duckdb.TransactionException as error:
            # DuckDB does not wait for a row another session changed: it refuses the change.
            if "conflict" in str(error).lower():
                raise WriteConflict(str(error)) from error
            raise

    def transaction(self) -> AbstractContextManager[None]:
        return explicit_transaction(self.connection.execute)

    def count_changed(self, sql: str, params: Sequence[Any] = ()) -> int:
        """DuckDB answers a DML statement with the number of rows it changed, as a row."""
        return int(self.fetchall(sql, params)[0][0])

    def create_staging_table_sql(self, table: str, select: str) -> str:
        return f"CREATE OR REPLACE TEMPORARY TABLE {table} AS {select}"

    def session_user(self) -> str | None:
        return None

    def staged_relation(self, table: str, files: Sequence[str], columns: Sequence[Column]) -> str:
        """`table`, created with `columns` from the staged files: loaded once, so every later
        step (the outcome counts, each table's stage, the problems) reads a table, not the
        Parquet."""
        typed = ", ".join(f"CAST({c.name} AS {c.sql_type}) AS {c.name}" for c in columns)
        if files:
            paths = ", ".join(string_literal(path) for path in files)
            select = f"SELECT {typed} FROM read_parquet([{paths}], union_by_name = true)"
        else:
            nothing = ", ".join(f"CAST(NULL AS {c.sql_type}) AS {c.name}" for c in columns)
            select = f"SELECT {nothing} WHERE FALSE"
        self._run(self.create_staging_table_sql(table, select), ())
        return table

    def fetch_arrow_batches(
        self, sql: str, batch_rows: int, params: Sequence[Any] = ()
    ) -> Iterator[pa.RecordBatch]:
        """Stream a query's result in Arrow batches, so no step holds a whole partition."""
        relation = self.connection.sql(sql, params=list(params) or None)
        yield from relation.to_arrow_reader(batch_rows)

    def export_csv(self, sql: str, path: str, params: Sequence[Any] = ()) -> None:
        """Write a query's result as a CSV file with a header (COPY takes the query's params)."""
        self._run(f"COPY ({sql}) TO {string_literal(path)} (FORMAT CSV, HEADER)", params)

    def next_value_sql(self, sequence: str) -> str:
        return f"nextval({string_literal(sequence)})"

    def check_hash_sql(self, columns: Sequence[Column]) -> str:
        """DuckDB's own hash() of a row's values, each cast to its column's type: about 7x
        cheaper than the MD5 row hash, the same within one process (DuckDB documents no
        stability across releases, so nothing kept depends on it). Staged rows are the
        connection's temporary tables, which no other session sees."""
        return f"hash({', '.join(f'CAST({c.name} AS {c.sql_type})' for c in columns)})"

    def row_hash_sql(self, columns: Sequence[Column]) -> str:
        """An integer hash of a row's values, stable across processes and DuckDB versions: the
        first 15 hex digits of the MD5 of their text (docs/architecture.md, "Row hashes")."""
        return f"CAST(('0x' || LEFT(MD5({_row_text(columns)}), 15)) AS BIGINT)"


@contextmanager
def open_duckdb(
    path: Path,
    *,
    read_only: bool = False,
    attempts: int = LOCK_ATTEMPTS,
    lane: str | None = None,
) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the DuckDB file, waiting while another process holds its write lock.

    The daily lane goes first: while a daily run waits, it leaves a marker beside the file, and
    a backfill run (`lane="backfill"`) does not try the lock until no live daily run waits.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    marker = path.with_name(f"{path.name}.{DAILY_WAITING}.{owner_tag()}")
    started = reported = time.monotonic()
    try:
        for attempt in range(1, attempts + 1):
            if lane == BACKFILL_LANE and _daily_waiting(path):
                connection = None
            else:
                try:
                    connection = duckdb.connect(
                        str(path), read_only=read_only, config=DUCKDB_CONFIG
                    )
                    break
                except duckdb.IOException as error:
                    if "lock" not in str(error).lower():
                        # A read-only connection to a file not created yet, among others.
                        raise WarehouseUnavailable(f"{path}: {error}") from error
                    if attempt == attempts:
                        raise WarehouseBusy(
                            f"{path}: gave up after waiting {time.monotonic() - started:.0f} s "
                            f"for another process's lock: {error}"
                        ) from error
                    if lane == DAILY_LANE:
                        marker.touch()
            if time.monotonic() - reported >= LOCK_WAIT_REPORT_SECONDS:
                reported = time.monotonic()
                logger.warning(
                    "waiting %.0f s for the warehouse %s: another process holds it",
                    reported - started,
                    path,
                )
            time.sleep(min(0.2 * attempt, LOCK_PAUSE_SECONDS))
    finally:
        marker.unlink(missing_ok=True)
    if connection is None:
        raise WarehouseBusy(
            f"{path}: a daily run kept waiting for it (gave up after "
            f"{time.monotonic() - started:.0f} s)"
        )
    try:
        yield connection
    finally:
        connection.close()


def _daily_waiting(path: Path) -> bool:
    """Whether a live daily run waits for the file (a killed one's marker is removed)."""
    waiting = False
    for marker in path.parent.glob(f"{path.name}.{DAILY_WAITING}.*"):
        if owner_alive(marker.name.rsplit(".", 1)[-1]):
            waiting = True
        else:
            marker.unlink(missing_ok=True)
    return waiting


def duckdb_connector(
    path: Path, attempts: int = LOCK_ATTEMPTS, lane: str | None = None, read_only: bool = False
) -> Callable[[], AbstractContextManager[DuckDBWarehouse]]:
    """Short-lived, schema-ready connections to the DuckDB warehouse at `path` (for a run of
    `lane`, which decides who goes first at the file lock).

    A read-only connection takes DuckDB's shared lock, never the write lock: it may open
    beside other readers, and finds the schema that every read-write connection ensures.
    """

    @contextmanager
    def connect() -> Iterator[DuckDBWarehouse]:
        with open_duckdb(path, attempts=attempts, lane=lane, read_only=read_only) as connection:
            warehouse = DuckDBWarehouse(connection)
            if not read_only:
                ensure_schema(warehouse)
                sweep_orphaned_staging(warehouse)
            yield warehouse

    return connect
