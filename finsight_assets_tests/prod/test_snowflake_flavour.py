"""The Snowflake flavour of the warehouse, on fakesnow: the same protocol, the same tables.

Silver and gold are built twice from the same raw files, once on DuckDB and once on Snowflake
SQL (COPY INTO from the stage, explicit transactions, history tables), and must agree row for
row. What fakesnow cannot show (real S3 behind the stage, warehouses, roles) is listed in the
README.
"""

from __future__ import annotations

import csv
import re
from datetime import date, timedelta

import pytest

from finsight_assets.dev.synthetic import generate_raw
from finsight_assets.lib.contract.run_tags import LIVE
from finsight_assets.lib.engines.duckdb_warehouse import duckdb_connector
from finsight_assets.lib.engines.lake import LocalLake
from finsight_assets.lib.engines.snowflake_warehouse import SnowflakeWarehouse
from finsight_assets.lib.layers.exports import write_partner_export
from finsight_assets.lib.tables.registry import TABLES
from finsight_assets.lib.tables.silver_customers import SILVER_CUSTOMERS
from finsight_assets.lib.wap import publish
from finsight_assets.lib.wap.model import RunInfo
from finsight_assets.lib.wap.rollback import rollback
from finsight_assets_tests.fakesnowflake import fake_snowflake
from finsight_assets_tests.lib.wap.test_publish import FailAfterDelete
from finsight_assets_tests.pipeline import CLOCK, run_pipeline

FIRST = date(2025, 3, 7)
DAYS = [FIRST + timedelta(days=i) for i in range(4)]  # spans the 2025-03-09 DST switch
DML = re.compile(r"^\s*(INSERT|DELETE|UPDATE|MERGE)\b", re.IGNORECASE)


@pytest.fixture(scope="module")
def monkeymodule():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


@pytest.fixture(scope="module")
def statements(monkeymodule) -> list[str]:
    """Every statement the Snowflake flavour sends, in order."""
    sent: list[str] = []
    execute, fetchall = SnowflakeWarehouse.execute, SnowflakeWarehouse.fetchall

    def recording_execute(self, sql, params=()):
        sent.append(sql)
        return execute(self, sql, params)

    def recording_fetchall(self, sql, params=()):
        sent.append(sql)
        return fetchall(self, sql, params)

    monkeymodule.setattr(SnowflakeWarehouse, "execute", recording_execute)
    monkeymodule.setattr(SnowflakeWarehouse, "fetchall", recording_fetchall)
    return sent


@pytest.fixture(scope="module")
def both(engine, tmp_path_factory, monkeymodule, statements):
    """The same raw days built on DuckDB and on Snowflake; yields (duckdb, snowflake) connects."""
    home = tmp_path_factory.mktemp("flavours")
    generate_raw(home / "lake", DAYS[0], DAYS[-1], rows_per_day=800, seed=7)
    duck = duckdb_connector(home / "warehouse.duckdb")
    run_pipeline(engine, home, DAYS, first=FIRST, connect=duck)
    with fake_snowflake(home / "lake", monkeymodule) as snow:
        run_pipeline(engine, home, DAYS, first=FIRST, connect=snow)
        yield home, duck, snow


def rows(connect, sql: str) -> list[tuple]:
    with connect() as warehouse:
        return sorted(warehouse.fetchall(sql), key=repr)


@pytest.mark.parametrize("table", TABLES, ids=lambda t: t.qualified_name)
def test_every_table_is_identical_on_duckdb_and_snowflake(both, table):
    _, duck, snow = both
    sql = f"SELECT {', '.join(table.business_columns)} FROM {table.qualified_name}"
    on_duckdb = rows(duck, sql)
    assert on_duckdb, f"{table.qualified_name} is empty: the comparison would prove nothing"
    assert rows(snow, sql) == on_duckdb


def test_both_record_the_same_versions(both):
    _, duck, snow = both
    sql = (
        "SELECT table_name, business_date, row_count, input_version, mode "
        "FROM audit.partition_versions"
    )
    assert rows(snow, sql) == rows(duck, sql)


def test_staged_parquet_is_loaded_with_copy_into_from_the_stage(both, statements):
    copies = [s for s in statements if s.startswith("COPY INTO")]
    assert copies
    assert all("FROM @FINSIGHT.STAGING.LAKE/staging/" in s for s in copies)
    assert all("MATCH_BY_COLUMN_NAME = CASE_INSENSITIVE" in s for s in copies)


def test_transactions_hold_only_dml(both, statements):
    inside, transactions = False, 0
    for sql in statements:
        if sql == "BEGIN TRANSACTION":
            assert not inside, "nested BEGIN"
            inside, transactions = True, transactions + 1
        elif sql in ("COMMIT", "ROLLBACK"):
            inside = False
        elif inside and not sql.lstrip().upper().startswith("SELECT"):
            assert DML.match(sql), f"not DML inside a transaction: {sql[:120]}"
    # One per publish (transactions with their rejections, customers, and each gold table),
    # and the first connection's record of the layout it made (`layout.ensure_schema`).
    assert transactions == len(TABLES) - 1 + 1


def test_partner_export_has_the_same_rows_from_both(both, tmp_path):
    home, duck, snow = both
    day = DAYS[1]
    files = {}
    for name, connect in (("duckdb", duck), ("snowflake", snow)):
        lake = LocalLake(tmp_path / name)
        with connect() as warehouse:
            files[name] = (tmp_path / name / "exports").joinpath(
                write_partner_export(warehouse, lake, day).rsplit("/", 1)[-1]
            )
    # The same header and values; pyarrow quotes every text value, DuckDB only where needed.
    parsed = {name: list(csv.reader(path.open())) for name, path in files.items()}
    assert len(parsed["snowflake"]) > 1
    assert parsed["snowflake"] == parsed["duckdb"]


def test_rollback_restores_the_previous_version_on_snowflake(engine, both):
    home, _, snow = both
    sql = f"SELECT * FROM {SILVER_CUSTOMERS.qualified_name}"
    before = rows(snow, sql)
    results = run_pipeline(
        engine, home, DAYS[1:3], run_id="rerun", first=FIRST, manifest_id="m-1", connect=snow
    )
    published = results["silver.customers"].versions[SILVER_CUSTOMERS.qualified_name]
    replaced = [version.version_id for version in published]
    assert rows(snow, sql) != before  # lineage columns name the re-run
    with snow() as warehouse:
        rollback(warehouse, SILVER_CUSTOMERS, replaced, RunInfo("undo", LIVE, CLOCK))
    assert rows(snow, sql) == before


def test_a_failed_publish_rolls_the_snowflake_transaction_back(both):
    _, _, snow = both
    sql = f"SELECT * FROM {SILVER_CUSTOMERS.qualified_name} WHERE business_date = DATE '{DAYS[0]}'"
    before = rows(snow, sql)

    with snow() as warehouse, pytest.raises(RuntimeError, match="mid-publish"):
        publish.write_audit_publish(
            FailAfterDelete(warehouse),
            SILVER_CUSTOMERS,
            RunInfo("broken", LIVE, CLOCK),
            "1",
            {DAYS[0]: "x"},
            f"SELECT {', '.join(SILVER_CUSTOMERS.business_columns)} "
            f"FROM {SILVER_CUSTOMERS.qualified_name} WHERE business_date = DATE '{DAYS[0]}'",
            checks=[],
        )
    assert rows(snow, sql) == before
