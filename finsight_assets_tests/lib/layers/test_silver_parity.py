"""The silver SQL on both engines: DuckDB (the embedded default) and local Spark compute identical
outcome rows and identical day errors naming the file, on generated days and on every class of
bad raw input (docs/contract.md, "Bad raw input")."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from finsight_assets.dev.synthetic import generate_raw
from finsight_assets.dev.synthetic.dates import is_transaction_free_day
from finsight_assets.lib.engines.duckdb_silver import DuckDBSilverEngine
from finsight_assets.lib.engines.duckdb_warehouse import DuckDBWarehouse
from finsight_assets.lib.engines.lake import LocalLake
from finsight_assets.lib.engines.spark import LocalSparkEngine
from finsight_assets.lib.layers.silver import outcome_columns
from finsight_assets.lib.layers.silver_inputs import inspect_days, usd_rates_of
from finsight_assets.lib.layers.silver_problems import problems
from finsight_assets.lib.layers.silver_run import run_engine, unaliased, visible_to_spark
from finsight_assets.lib.layers.silver_sql import text_columns
from finsight_assets.lib.tables.registry import SOURCES
from finsight_assets_tests import badinput

START = date(2025, 3, 3)
# A day of text that is not UTF-8, a day of amounts and deliveries, a day of corrupt pages, a
# plain generated day.
NOT_UTF8, AMOUNTS, CORRUPT, PLAIN = (START + timedelta(days=i) for i in range(4))
DAYS = [NOT_UTF8, AMOUNTS, CORRUPT, PLAIN]


def _bad_text_files(lake: Path) -> None:
    """On NOT_UTF8, one file per text column with bad bytes in it (two rows in event_id's)."""
    for table in ("transactions", "customers"):
        source = badinput.read(lake, table, NOT_UTF8)
        for i, column in enumerate(text_columns(table)):
            bad = source.slice(5 * i, 10)
            values = [None if v is None else v.encode() for v in bad.column(column).to_pylist()]
            values[3] = b"bad \xff\xfe bytes"
            # A cut multi-byte sequence too, in the key: named made valid, as Spark makes it.
            values[7] = b"\xc3 cut" if column == "event_id" else values[7]
            text = pa.array(values, pa.binary()).view(pa.string())
            bad = badinput.with_column(bad, column, text)
            pq.write_table(bad, badinput.folder(lake, table, NOT_UTF8) / f"latin1-{column}.parquet")


def _amounts_and_deliveries(lake: Path) -> None:
    """On AMOUNTS: amounts beyond decimal(18,2) after conversion, amounts from 1e8 that fit, a
    `_late.parquet`, a flood of one event id, emails to trim."""
    fx = pq.read_table(badinput.first_file(lake, "fx_rates", AMOUNTS))
    above_one = next(c for c, r in badinput.rates(fx).items() if r > 1)
    source = badinput.read(lake, "transactions", AMOUNTS)
    huge = source.slice(0, 6)
    huge = badinput.with_column(huge, "event_id", pa.array([f"huge-{i}" for i in range(6)]))
    huge = badinput.with_column(huge, "event_type", pa.array(["DEPOSIT", "FEE"] * 3))
    huge = badinput.with_column(huge, "currency", pa.array([above_one] * 6))
    amounts = ["9999999999999999.99", "123456789.12", "100000000.00"] * 2
    huge = badinput.with_column(huge, "amount", badinput.money(amounts))
    folder = badinput.folder(lake, "transactions", AMOUNTS)
    pq.write_table(huge, folder / "huge.parquet")
    late = badinput.with_column(
        source.slice(20, 3), "event_id", pa.array(["late-1", "late-2", None])
    )
    pq.write_table(late, folder / "_late.parquet")
    flood = pa.concat_tables([source.slice(30, 1)] * 5_000)
    flood = badinput.with_column(flood, "event_id", pa.array(["flood"] * 5_000))
    ingested = flood.column("ingested_at").combine_chunks()
    flood = badinput.with_column(
        flood, "ingested_at", pa.array([None] * 4_999 + [ingested[0].as_py()], ingested.type)
    )
    pq.write_table(flood, folder / "flood.parquet")
    snapshot = badinput.read(lake, "customers", AMOUNTS)
    padded = [
        "\u3000\u00a0Padded@Example.COM\u2029\t",
        "\u2007 \u202f",
        "",
        " x@y.z\x1c",
        "\x85A@B.C",
    ]
    emails = badinput.with_column(snapshot.slice(0, 5), "email", pa.array(padded))
    pq.write_table(emails, badinput.folder(lake, "customers", AMOUNTS) / "padded.parquet")


@pytest.fixture(scope="module")
def lake(tmp_path_factory) -> Path:
    assert not any(is_transaction_free_day(d) for d in DAYS)
    root = tmp_path_factory.mktemp("parity") / "lake"
    generate_raw(root, DAYS[0], DAYS[-1], rows_per_day=400, seed=25)
    _bad_text_files(root)
    _amounts_and_deliveries(root)
    transactions = badinput.read(root, "transactions", CORRUPT)
    badinput.corrupt_pages(
        badinput.folder(root, "transactions", CORRUPT) / "corrupt.parquet", transactions
    )
    return root


def computed(engine, root: Path, source, staging: str, connection) -> dict[date, str]:
    """Run the source's transform on `engine` as silver does; the outcome rows are loaded into
    table `staging` of `connection`; returns the day errors (the engine's and the staged rows')."""
    lake, failed = LocalLake(root), {}
    raw = inspect_days(lake, source.raw_table, DAYS, failed)
    rates = usd_rates_of(lake, inspect_days(lake, "fx_rates", DAYS, failed), "fx_rates", failed)
    files = {d: [f.uri for f in raw[d].files] for d in DAYS}
    uri = lake.staging_uri(f"parity_{engine.name}_{source.transform}", "parity")
    aliases: dict[str, str] = {}
    if isinstance(engine, LocalSparkEngine):
        files, aliases = visible_to_spark(lake, files, f"{uri}-inputs")
    failed = run_engine(
        engine, lake, source.transform, files, rates if source.rates_table else {}, uri
    )
    warehouse = DuckDBWarehouse(connection)
    outcome_rows = warehouse.staged_relation(
        staging, lake.parquet_files(uri), outcome_columns(SOURCES[source])
    )
    for d, problem in problems(warehouse, outcome_rows, source.row_key).items():
        failed.setdefault(d, f"raw/{source.transform}: {problem}")
    return {d: unaliased(why, aliases) for d, why in failed.items()}


@pytest.mark.parametrize("source", list(SOURCES), ids=lambda s: s.transform)
def test_duckdb_and_spark_give_identical_outcome_rows_and_day_errors(spark, lake, source):
    connection = duckdb.connect()
    by_duckdb = computed(DuckDBSilverEngine(), lake, source, "by_duckdb", connection)
    by_spark = computed(LocalSparkEngine(spark), lake, source, "by_spark", connection)
    assert by_duckdb == by_spark
    assert set(by_duckdb) == (
        {NOT_UTF8, AMOUNTS, CORRUPT} if source.transform == "transactions" else {NOT_UTF8}
    )
    for d, error in by_duckdb.items():
        assert str(badinput.folder(lake, source.raw_table, d)) in error, error

    columns = [c.name for c in outcome_columns(SOURCES[source]) if c.name != "source_file"]
    listed = ", ".join(columns)

    def differ(left: str, right: str) -> int:
        return connection.execute(
            f"SELECT COUNT(*) FROM (SELECT {listed} FROM {left} EXCEPT ALL SELECT {listed} FROM {right})"
        ).fetchone()[0]

    counts = dict(
        connection.execute(
            "SELECT 'duckdb', COUNT(*) FROM by_duckdb UNION ALL SELECT 'spark', COUNT(*) FROM by_spark"
        ).fetchall()
    )
    assert counts["duckdb"] > 0
    # DuckDB stages no row of a day it cannot read (the day fails); Spark stages them flagged.
    readable = f"business_date NOT IN (DATE '{NOT_UTF8}', DATE '{CORRUPT}')"
    connection.execute(f"CREATE TABLE spark_readable AS SELECT * FROM by_spark WHERE {readable}")
    connection.execute(f"CREATE TABLE duckdb_readable AS SELECT * FROM by_duckdb WHERE {readable}")
    assert differ("duckdb_readable", "spark_readable") == 0
    assert differ("spark_readable", "duckdb_readable") == 0
    for table in ("by_duckdb", "by_spark"):
        assert (
            connection.execute(
                f"SELECT COUNT(*) FROM {table} WHERE problem IS NULL AND source_file IS NOT NULL"
            ).fetchone()[0]
            == 0
        )
    if source.transform == "transactions":
        outcomes = dict(
            connection.execute(
                "SELECT event_id, COALESCE(problem, outcome) FROM duckdb_readable WHERE event_id LIKE 'huge-%' OR event_id = 'late-1'"
            ).fetchall()
        )
        assert (
            outcomes["huge-0"].startswith("amount * usd_rate = ") and outcomes["huge-1"] == "VALID"
        )
        assert outcomes["late-1"] == "VALID"
