"""The warehouse: the few statements that differ between engines, behind one small interface.

Everything else (gold SQL, audits, the publish protocol) is plain SQL that DuckDB and Snowflake
both run. `DuckDBWarehouse` is the embedded default.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any, Protocol

import duckdb
import pyarrow as pa

from finsight_assets.lib.contract.tables import LINEAGE_COLUMNS, TABLES, TableSpec

logger = logging.getLogger(__name__)

STAGING_SCHEMA = "staging"
HISTORY_SCHEMA = "history"
AUDIT_SCHEMA = "audit"
PUBLISH_LOG_SEQUENCE = f"{AUDIT_SCHEMA}.publish_log_seq"
# How often a connection tries the DuckDB file while another process holds its write lock
# (with growing pauses: about five minutes in all).
LOCK_ATTEMPTS = 150


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


def _row_hash_text(columns: Sequence[str]) -> str:
    parts = [f"COALESCE(CAST({column} AS VARCHAR), '\\N')" for column in columns]
    return " || '|' || ".join(parts)


class DuckDBWarehouse:
    """The DuckDB flavour: one connection, explicit transactions, Parquet read in place."""

    dialect = "duckdb"

    def __init__(self, connection: duckdb.DuckDBPyConnection):
        self.connection = connection
        # Timestamps are stored as UTC instants; pin the session zone so casts never depend
        # on the machine running the step.
        self.connection.execute("SET TimeZone = 'UTC'")

    def execute(self, sql: str) -> None:
        self.connection.execute(sql)

    def fetchall(self, sql: str) -> list[tuple[Any, ...]]:
        return self.connection.execute(sql).fetchall()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self.connection.execute("BEGIN TRANSACTION")
        try:
            yield
        except BaseException:
            self.connection.execute("ROLLBACK")
            raise
        self.connection.execute("COMMIT")

    def load_parquet(self, table: str, files: Sequence[str], columns: Sequence[str]) -> None:
        """Append the named columns of staged Parquet files to `table`, read in place."""
        names = ", ".join(columns)
        paths = ", ".join(string_literal(path) for path in files)
        self.connection.execute(
            f"INSERT INTO {table} ({names}) SELECT {names} FROM read_parquet([{paths}])"
        )

    def fetch_arrow_batches(self, sql: str, batch_rows: int) -> Iterator[pa.RecordBatch]:
        """Stream a query's result in Arrow batches, so no step holds a whole partition."""
        reader = self.connection.sql(sql).to_arrow_reader(batch_rows)
        yield from reader

    def export_csv(self, sql: str, path: str) -> None:
        """Write a query's result as a CSV file with a header."""
        self.connection.execute(f"COPY ({sql}) TO {string_literal(path)} (FORMAT CSV, HEADER)")

    def next_value_sql(self, sequence: str) -> str:
        return f"nextval({string_literal(sequence)})"

    def compare_hash_sql(self, columns: Sequence[str]) -> str:
        """A fast row hash for comparing rows within one statement (not stable across versions)."""
        return f"hash({', '.join(columns)})"

    def row_hash_sql(self, columns: Sequence[str]) -> str:
        """An integer hash of a row's values, stable across DuckDB versions (from MD5)."""
        return f"CAST(('0x' || LEFT(MD5({_row_hash_text(columns)}), 15)) AS BIGINT)"


@contextmanager
def open_duckdb(
    path: Path, *, read_only: bool = False, attempts: int = LOCK_ATTEMPTS
) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the DuckDB file, waiting while another process holds its write lock."""
    path.parent.mkdir(parents=True, exist_ok=True)
    for attempt in range(1, attempts + 1):
        try:
            connection = duckdb.connect(str(path), read_only=read_only)
            break
        except duckdb.IOException as error:
            if attempt == attempts or "lock" not in str(error).lower():
                raise
            logger.info("warehouse %s is locked by another process; retrying", path)
            time.sleep(min(0.2 * attempt, 2.0))
    try:
        yield connection
    finally:
        connection.close()


def duckdb_connector(
    path: Path, attempts: int = LOCK_ATTEMPTS
) -> Callable[[], AbstractContextManager[DuckDBWarehouse]]:
    """Short-lived, schema-ready connections to the DuckDB warehouse at `path`."""

    @contextmanager
    def connect() -> Iterator[DuckDBWarehouse]:
        with open_duckdb(path, attempts=attempts) as connection:
            warehouse = DuckDBWarehouse(connection)
            ensure_schema(warehouse)
            yield warehouse

    return connect


def table_ddl(table: TableSpec, qualified_name: str | None = None) -> str:
    columns = ", ".join(
        f"{column.name} {column.sql_type}" for column in table.columns + LINEAGE_COLUMNS
    )
    return f"CREATE TABLE IF NOT EXISTS {qualified_name or table.qualified_name} ({columns})"


def history_table(table: TableSpec) -> str:
    return f"{HISTORY_SCHEMA}.{table.schema}__{table.name}"


def ensure_schema(warehouse: Warehouse) -> None:
    """Create the silver, gold, staging, history and audit schemas and tables if missing."""
    for schema in ("silver", "gold", STAGING_SCHEMA, HISTORY_SCHEMA, AUDIT_SCHEMA):
        warehouse.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    for table in TABLES:
        warehouse.execute(table_ddl(table))
        warehouse.execute(table_ddl(table, history_table(table)))
    warehouse.execute(
        f"CREATE TABLE IF NOT EXISTS {AUDIT_SCHEMA}.partition_versions ("
        "version_id VARCHAR, table_name VARCHAR, business_date DATE, run_id VARCHAR, "
        "code_version VARCHAR, input_version VARCHAR, mode VARCHAR, row_count BIGINT, "
        "checksum VARCHAR, published_at TIMESTAMP WITH TIME ZONE, replaced_version_id VARCHAR, "
        "predecessor_version_id VARCHAR, manifest_id VARCHAR)"
    )
    warehouse.execute(
        f"CREATE TABLE IF NOT EXISTS {AUDIT_SCHEMA}.current_versions ("
        "table_name VARCHAR, business_date DATE, version_id VARCHAR)"
    )
    warehouse.execute(f"CREATE SEQUENCE IF NOT EXISTS {PUBLISH_LOG_SEQUENCE}")
    warehouse.execute(
        f"CREATE TABLE IF NOT EXISTS {AUDIT_SCHEMA}.publish_log ("
        "seq BIGINT, table_name VARCHAR, business_date DATE, action VARCHAR, version_id VARCHAR, "
        "previous_version_id VARCHAR, run_id VARCHAR, logged_at TIMESTAMP WITH TIME ZONE, "
        "note VARCHAR)"
    )
    warehouse.execute(
        f"CREATE TABLE IF NOT EXISTS {AUDIT_SCHEMA}.check_results ("
        "table_name VARCHAR, business_date DATE, run_id VARCHAR, check_name VARCHAR, "
        "passed BOOLEAN, blocking BOOLEAN, detail VARCHAR, checked_at TIMESTAMP WITH TIME ZONE, "
        "metadata VARCHAR)"
    )
    warehouse.execute(
        f"CREATE TABLE IF NOT EXISTS {AUDIT_SCHEMA}.run_steps ("
        "run_id VARCHAR, asset VARCHAR, partitions BIGINT, raw_rows BIGINT, rows_written BIGINT, "
        "seconds DOUBLE, run_started_at TIMESTAMP WITH TIME ZONE)"
    )
