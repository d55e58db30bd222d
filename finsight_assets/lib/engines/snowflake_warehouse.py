"""The Snowflake flavour of the warehouse: the few statements that differ from DuckDB.

The protocol's SQL (gold, audits, publish) is shared text; here live only
- explicit transactions in the connection's one session (`BEGIN` ... `COMMIT`); the protocol puts
  only DML inside them, because Snowflake commits any open transaction before a DDL statement;
- staged Parquet loaded with `COPY INTO` from an external stage over the lake, by column name;
- the row hash (`HASH`, Snowflake's deterministic 64-bit hash) and the CSV export;
- fetched Arrow in the contract's exact types: the connector's own conversion gives doubles or
  wide decimals, small ints, int32 dates and nanoseconds (`result_schema`, `conform`);
- a bounded wait for another session's lock (`LOCK_TIMEOUT_SECONDS`), given up as
  `WarehouseBusy`.

Kept versions are rows of the `versions.*` tables, as on DuckDB, rather than Time Travel: a
backfill may be rolled back weeks later, beyond a table's Time Travel retention, and the versions
tables keep rows per partition version, where a zero-copy clone would be of the whole table.
"""

from __future__ import annotations

import logging
import posixpath
import time
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
from snowflake.connector.constants import FIELD_ID_TO_NAME
from snowflake.connector.errors import Error as SnowflakeError

from finsight_assets.lib.contract.tables import UTC_MICROS, Column
from finsight_assets.lib.engines.arrow_types import conform
from finsight_assets.lib.engines.warehouse import (
    WarehouseBusy,
    explicit_transaction,
    string_literal,
)
from finsight_assets.lib.wap.layout import STAGING_SCHEMA

logger = logging.getLogger(__name__)

# Who the session authenticated as: who acts on a backfill (`backfills/identity.py`).
SESSION_USER_QUERY = "SELECT CURRENT_USER()"

# How long a statement waits for a lock another session holds (Snowflake's LOCK_TIMEOUT, 12
# hours unless set): long enough for any publish or rollback transaction to finish, short
# enough that a worker killed inside its transaction fails the next publish of those tables
# (WarehouseBusy, naming the table) instead of holding it for half a day.
LOCK_TIMEOUT_SECONDS = 900

# Set when the session opens (connection argument `session_parameters`).
SESSION_PARAMETERS = {
    "TIMEZONE": "UTC",
    "QUERY_TAG": "finsight",
    "LOCK_TIMEOUT": LOCK_TIMEOUT_SECONDS,
}

# Snowflake's error code when a statement gave up waiting for a lock ("Statement ... has locked
# table ... and this lock has not yet been released"; SQLSTATE 57014).
LOCK_WAIT_ERRNO = 625

# Fetches read NUMBER as decimals (the connector's default is double: inexact money); values
# are bound on the server (`?`), never formatted into the statement by the client.
CONNECTION_ARGUMENTS = {"arrow_number_to_decimal": True, "paramstyle": "qmark"}

_ARROW_OF = {
    "TEXT": pa.string(),
    "DATE": pa.date32(),
    "BOOLEAN": pa.bool_(),
    "REAL": pa.float64(),
    **{kind: UTC_MICROS for kind in ("TIMESTAMP_TZ", "TIMESTAMP_LTZ", "TIMESTAMP_NTZ")},
}

# Snowflake's COPY INTO takes at most 1,000 names in FILES.
COPY_FILES_LIMIT = 1000


def result_schema(description: Sequence[Any]) -> pa.Schema:
    """The Arrow type each column of a result must have, from its Snowflake type: NUMBER(p, s)
    as decimal128(p, s) (int64 when s is 0), DATE as date32, timestamps as UTC microseconds."""
    fields = []
    for column in description:
        kind = FIELD_ID_TO_NAME[column.type_code]
        if kind == "FIXED":
            arrow = pa.decimal128(column.precision, column.scale) if column.scale else pa.int64()
        elif kind in _ARROW_OF:
            arrow = _ARROW_OF[kind]
        else:
            raise TypeError(f"column {column.name}: Snowflake type {kind} is not in the contract")
        fields.append(pa.field(column.name.lower(), arrow))
    return pa.schema(fields)


def _run(cursor: Any, sql: str, params: Sequence[Any]) -> None:
    """Run a statement; a lock waited out (`LOCK_TIMEOUT_SECONDS`) is `WarehouseBusy`, saying
    how long it waited and, in Snowflake's words, which table another session holds."""
    started = time.monotonic()
    try:
        cursor.execute(sql, list(params) or None)
    except SnowflakeError as error:
        if error.errno != LOCK_WAIT_ERRNO:
            raise
        raise WarehouseBusy(
            f"gave up after waiting {time.monotonic() - started:.0f} s for a lock another "
            f"session holds (Snowflake: {error.msg})"
        ) from error


class SnowflakeWarehouse:
    """One Snowflake session: the protocol's statements, transactions and loads from the lake.

    `stage` is an external stage whose URL is `lake_root` (the lake's s3://bucket/prefix), so
    a staged file's stage path is its uri without that root. Open the connection with
    `SESSION_PARAMETERS` from this module: timestamps are UTC instants, whatever the account says,
    and a statement queued behind another session's lock waits at most `LOCK_TIMEOUT_SECONDS`,
    then raises `WarehouseBusy`.
    """

    dialect = "snowflake"
    authenticates_users = True
    # HASH is a signed 64-bit NUMBER(19,0); 20 digits also hold fakesnow's (the unsigned 64-bit
    # hash of DuckDB, which it runs for HASH).
    row_hash_type = "NUMBER(20,0)"
    staging_schema = STAGING_SCHEMA

    def __init__(self, connection: Any, stage: str, lake_root: str):
        self.connection = connection
        self.stage = stage
        self.lake_root = lake_root.rstrip("/")

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        with self.connection.cursor() as cursor:
            _run(cursor, sql, params)

    def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self.connection.cursor() as cursor:
            _run(cursor, sql, params)
            return [tuple(row) for row in cursor.fetchall()]

    def transaction(self) -> AbstractContextManager[None]:
        return explicit_transaction(self.execute)

    def count_changed(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Snowflake answers a DML statement with the number of rows it changed, as a row."""
        return int(self.fetchall(sql, params)[0][0])

    def create_staging_table_sql(self, table: str, select: str) -> str:
        return f"CREATE OR REPLACE TABLE {table} AS {select}"

    def session_user(self) -> str | None:
        [(user,)] = self.fetchall(SESSION_USER_QUERY)
        return str(user) if user else None

    def stage_path(self, uri: str) -> str:
        """A lake file's path within the external stage."""
        if not uri.startswith(self.lake_root + "/"):
            raise ValueError(f"{uri} is not under the stage's lake root {self.lake_root}")
        return uri[len(self.lake_root) + 1 :]

    def staged_relation(self, table: str, files: Sequence[str], columns: Sequence[Column]) -> str:
        """`table`, created with `columns` and loaded by COPY from the staged Parquet files,
        matching columns by name.

        Files are named explicitly (no pattern), a thousand at a time, folder by folder, and
        FORCE loads them even if a file of that name was loaded before.
        """
        definitions = ", ".join(f"{c.name} {c.sql_type}" for c in columns)
        self.execute(f"CREATE OR REPLACE TABLE {table} ({definitions})")
        by_folder: dict[str, list[str]] = {}
        for uri in files:
            folder, name = posixpath.split(self.stage_path(uri))
            by_folder.setdefault(folder, []).append(name)
        for folder, names in sorted(by_folder.items()):
            for start in range(0, len(names), COPY_FILES_LIMIT):
                chunk = names[start : start + COPY_FILES_LIMIT]
                listed = ", ".join(string_literal(name) for name in chunk)
                self.execute(
                    f"COPY INTO {table} FROM @{self.stage}/{folder}/ FILES = ({listed}) "
                    "FILE_FORMAT = (TYPE = PARQUET) MATCH_BY_COLUMN_NAME = CASE_INSENSITIVE "
                    "FORCE = TRUE"
                )
        return table

    def _arrow_batches(self, sql: str, params: Sequence[Any]) -> Iterator[pa.RecordBatch]:
        """The result's batches in the contract's Arrow types (see `arrow_types.conform`)."""
        with self.connection.cursor() as cursor:
            _run(cursor, sql, params)
            schema = result_schema(cursor.description)
            for table in cursor.fetch_arrow_batches():
                for batch in table.to_batches():
                    # Snowflake upper-cases unquoted names; the contract's are lower case.
                    yield conform(batch.rename_columns(schema.names), schema)

    def fetch_arrow_batches(
        self, sql: str, batch_rows: int, params: Sequence[Any] = ()
    ) -> Iterator[pa.RecordBatch]:
        """Stream a query's result in Arrow batches (the connector's result chunks)."""
        for batch in self._arrow_batches(sql, params):
            for start in range(0, batch.num_rows, batch_rows):
                yield batch.slice(start, batch_rows)

    def export_csv(self, sql: str, path: str, params: Sequence[Any] = ()) -> None:
        """Write a query's result as a CSV file with a header, streamed batch by batch."""
        with self.connection.cursor() as cursor:
            _run(cursor, f"SELECT * FROM ({sql}) LIMIT 0", params)
            names = [column[0].lower() for column in cursor.description]
        batches = self._arrow_batches(sql, params)
        first = next(batches, None)
        if first is None:
            # No rows: the header alone, as DuckDB's COPY writes it.
            Path(path).write_text(",".join(names) + "\n", encoding="utf-8")
            return
        options = pacsv.WriteOptions(quoting_style="needed")
        with pacsv.CSVWriter(path, first.schema, write_options=options) as writer:
            writer.write_batch(first)
            for batch in batches:
                writer.write_batch(batch)

    def next_value_sql(self, sequence: str) -> str:
        return f"{sequence}.NEXTVAL"

    def check_hash_sql(self, columns: Sequence[Column]) -> None:
        """None: the row hash is Snowflake's HASH already, and a staging table is visible to
        other sessions, so a publish hashes the rows it writes (`replace.py`)."""
        return None

    def row_hash_sql(self, columns: Sequence[Column]) -> str:
        """Snowflake's own 64-bit HASH of a row's values, each cast to its column's type."""
        typed = ", ".join(f"CAST({c.name} AS {c.sql_type})" for c in columns)
        return f"HASH({typed})"
