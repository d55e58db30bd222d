"""Silver computed by DuckDB (the embedded default): the silver SQL (`silver_sql`, DuckDB's
dialect) over the raw Parquet files, inside the embedded warehouse's own connection, so the
outcome rows land in a staging table with no hand-off; or, beside another warehouse, into staged
Parquet like Spark's.

DuckDB's Parquet reader refuses text that is not UTF-8 (where Spark reads it and flags the row):
a day that fails so is diagnosed here, from its files' text read by Arrow as bytes, and fails
with the same error Spark's rows give (`silver_problems`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import closing, contextmanager
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from finsight_assets.lib.contract import tables as contract
from finsight_assets.lib.contract.tables import Column
from finsight_assets.lib.engines.duckdb_warehouse import DUCKDB_CONFIG, DuckDBWarehouse
from finsight_assets.lib.engines.lake import Lake
from finsight_assets.lib.engines.silver_engine import UncomputableDay
from finsight_assets.lib.engines.warehouse import Warehouse, bound_rows, string_literal
from finsight_assets.lib.layers.silver_job import ROW_KEYS, SilverJob
from finsight_assets.lib.layers.silver_problems import named_rows_sql, problem_texts
from finsight_assets.lib.layers.silver_run import day_failure, run_by_day
from finsight_assets.lib.layers.silver_sql import (
    BUSINESS_DATE_PATTERN,
    DUCKDB,
    RAW_ROWS,
    USD_RATES,
    silver_sql,
    text_columns,
)
from finsight_assets.lib.tables.registry import SOURCES

# The rates, a temporary table of the connection while a job runs.
RATES_TABLE = "finsight_silver_usd_rates"
# The raw files' text as bytes, an Arrow table registered while a day's text is diagnosed.
TEXT_VIEW = "finsight_silver_raw_text"
_RAW_TABLES = {source.transform: source.raw_table for source in SOURCES}


def outcomes_sql(transform: str, columns: Sequence[Column] = ()) -> str:
    """The transform's outcome rows (typed as `columns` when given) over the raw files of the
    statement's one parameter (a list) and the rates held (`_rates_held`)."""
    raw = contract.RAW_SCHEMAS[_RAW_TABLES[transform]]
    raw_rows = (
        f"SELECT {', '.join(raw.names)}, "
        f"CAST(regexp_extract(filename, '{BUSINESS_DATE_PATTERN}', 1) AS DATE) AS business_date, "
        "filename AS source_file FROM read_parquet(?, filename = true, union_by_name = true)"
    )
    query = (
        f"WITH {RAW_ROWS} AS ({raw_rows}), {USD_RATES} AS (SELECT * FROM {RATES_TABLE}), "
        + silver_sql(transform, DUCKDB).removeprefix("WITH ")
    )
    if not columns:
        return query
    typed = ", ".join(f"CAST({c.name} AS {c.sql_type}) AS {c.name}" for c in columns)
    return f"SELECT {typed} FROM ({query}) AS outcomes"


@contextmanager
def _rates_held(
    connection: duckdb.DuckDBPyConnection, usd_rates: Mapping[date, Mapping[str, Decimal]]
) -> Iterator[None]:
    """The rates as the temporary table `RATES_TABLE` while the block runs, from bound
    parameters: exact (each rate travels as its text, which the column's decimal type takes),
    and without converting Python objects to Arrow, whose first conversion imports pandas (a
    third of a second of every run)."""
    rows, params = bound_rows(
        (d, currency, format(rate, "f"))
        for d, by in sorted(usd_rates.items())
        for currency, rate in sorted(by.items())
    )
    connection.execute(
        f"CREATE OR REPLACE TEMPORARY TABLE {RATES_TABLE} "
        f"(business_date DATE, currency VARCHAR, listed_usd_rate {contract.RATE_SQL})"
    )
    try:
        if rows:
            connection.execute(f"INSERT INTO {RATES_TABLE} VALUES {rows}", params)
        yield
    finally:
        connection.execute(f"DROP TABLE IF EXISTS {RATES_TABLE}")


@contextmanager
def _registered(
    connection: duckdb.DuckDBPyConnection, name: str, table: pa.Table
) -> Iterator[None]:
    connection.register(name, table)
    try:
        yield
    finally:
        connection.unregister(name)


def not_utf8(
    connection: duckdb.DuckDBPyConnection, transform: str, day: date, day_files: Sequence[str]
) -> str | None:
    """The day's error when its files hold text that is not UTF-8, as Spark's rows give it
    (None: all text is UTF-8). Each file's text columns are read as bytes and tested in SQL."""
    key, names = ROW_KEYS[transform], text_columns(_RAW_TABLES[transform])
    problem = " ".join(
        f"WHEN {n} IS NOT NULL AND try(decode({n})) IS NULL "
        f"THEN 'text that is not UTF-8 in column {n}'"
        for n in names
    )
    rows = (
        f"(SELECT CAST(? AS DATE) AS business_date, CAST(? AS VARCHAR) AS source_file, "
        f"CASE {problem} END AS problem, {key} FROM {TEXT_VIEW})"
    )
    found = []
    for uri in day_files:
        text = pq.read_table(uri, columns=names)
        as_bytes = pa.table({n: text.column(n).cast(pa.binary()) for n in names})
        with _registered(connection, TEXT_VIEW, as_bytes):
            named = connection.execute(named_rows_sql(rows, key), [day.isoformat(), uri])
            found += [
                # A handful of keys per file: made valid as Spark makes them (U+FFFD).
                (d, file, why, None if k is None else bytes(k).decode("utf-8", "replace"), n)
                for d, file, why, k, n in named.fetchall()
            ]
    texts = problem_texts(found, key)
    return f"raw/{transform}: {texts[day]}" if day in texts else None


def _run(
    connection: duckdb.DuckDBPyConnection,
    statement: str,
    transform: str,
    days: Mapping[date, Sequence[str]],
    usd_rates: Mapping[date, Mapping[str, Decimal]],
) -> None:
    """Run a statement over the days' raw files; a single day that fails on text that is not
    UTF-8 raises its error as the contract words it."""
    files = [uri for d in sorted(days) for uri in days[d]]
    rates = {d: usd_rates[d] for d in days if d in usd_rates}
    with _rates_held(connection, rates):
        try:
            connection.execute(statement, [files])
        except duckdb.Error as error:
            if len(days) == 1:
                ((d, day_files),) = days.items()
                problem = not_utf8(connection, transform, d, day_files)
                if problem is not None:
                    raise UncomputableDay(problem) from error
            raise


class DuckDBSilverEngine:
    """Silver's outcome rows computed by DuckDB: no JVM, one process."""

    name = "DuckDB"

    def run(self, job: SilverJob) -> None:
        """Write the job's outcome rows as Parquet under its staging uri (a local folder), for a
        warehouse other than the embedded one."""
        folder = Path(job.staging_uri)
        folder.mkdir(parents=True, exist_ok=True)
        target = string_literal(str(folder / "part-00000.parquet"))
        statement = (
            f"COPY ({outcomes_sql(job.transform)}) TO {target} (FORMAT PARQUET, COMPRESSION zstd)"
        )
        with closing(duckdb.connect(config=dict(DUCKDB_CONFIG))) as connection:
            connection.execute("SET TimeZone = 'UTC'")
            _run(connection, statement, job.transform, job.files_by_date, job.usd_rates)

    def compute_in(
        self,
        warehouse: Warehouse,
        lake: Lake,
        transform: str,
        files: Mapping[date, Sequence[str]],
        usd_rates: Mapping[date, Mapping[str, Decimal]],
        table: str,
        columns: Sequence[Column],
    ) -> dict[date, str] | None:
        """Create `table` in an embedded DuckDB warehouse's own connection with every day's
        outcome rows (every day at once, else day by day); returns the days that failed, with
        their error. None beside another warehouse: `run` stages Parquet for it."""
        if not isinstance(warehouse, DuckDBWarehouse):
            return None
        connection = warehouse.connection
        declared = ", ".join(f"{c.name} {c.sql_type}" for c in columns)
        connection.execute(f"CREATE OR REPLACE TEMPORARY TABLE {table} ({declared})")
        insert = f"INSERT INTO {table} {outcomes_sql(transform, columns)}"
        return run_by_day(
            lambda days, _: _run(connection, insert, transform, days, usd_rates),
            lambda _: None,
            files,
            table,
            lambda _: table,
            lambda day_files, error: day_failure(lake, self.name, transform, day_files, error),
        )
