"""Hold partitions for a manifest through the real protocol (stage, audit, hold), without Spark:
what a backfill run that needs approval leaves for its approvers (silver.customers alone, or a
corrected silver.transactions day and the customer summary computed from it)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

from finsight_assets.lib.backfills.operations import Backfills, open_backfills
from finsight_assets.lib.contract.run_tags import BACKFILL, LIVE
from finsight_assets.lib.contract.tables import TableSpec
from finsight_assets.lib.engines.lake import Lake
from finsight_assets.lib.engines.warehouse import Connect, Warehouse
from finsight_assets.lib.layers import gold
from finsight_assets.lib.layers.silver_inputs import input_now
from finsight_assets.lib.settings import Settings
from finsight_assets.lib.tables.gold_daily_customer_summary import GOLD_DAILY_CUSTOMER_SUMMARY
from finsight_assets.lib.tables.registry import CODE_VERSIONS
from finsight_assets.lib.tables.silver_customers import SILVER_CUSTOMERS
from finsight_assets.lib.tables.silver_transactions import SILVER_TRANSACTIONS
from finsight_assets.lib.wap import publish
from finsight_assets.lib.wap.model import PartitionVersion, Published, RunInfo
from finsight_assets_tests.lib.layers import test_bound_dates as bound_dates
from finsight_assets_tests.lib.layers.test_bound_dates import DAY1, DAY2

HELD_AT = datetime(2025, 3, 10, 8, 0, tzinfo=UTC)
# When the operations of `home_backfills` run.
OPERATED_AT = datetime(2025, 3, 10, 9, 0, tzinfo=UTC)
# The version ids a manifest (the one parameter) holds: where its rows are in a versions table.
HELD_IDS = "SELECT version_id FROM audit.held_versions WHERE manifest_id = ?"
# Where no Dagster webserver answers.
UNREACHABLE_WEBSERVER = "http://127.0.0.1:9"


def home_backfills() -> Backfills:
    """The backfill operations of the FINSIGHT_HOME set in the environment, at a fixed clock,
    with no Dagster to ask."""
    settings = replace(Settings.from_env(), webserver_url=UNREACHABLE_WEBSERVER)
    return open_backfills(settings, lambda: OPERATED_AT)


def customers_sql(day: date, *customer_ids: str) -> str:
    return " UNION ALL ".join(
        f"SELECT DATE '{day}' AS business_date, '{cid}' AS customer_id, 'US' AS country, "
        "'RETAIL' AS segment, 'VERIFIED' AS kyc_status, "
        "CAST('2024-01-01 00:00:00+00' AS TIMESTAMP WITH TIME ZONE) AS created_at, "
        f"'{'a' * 64}' AS email_sha256"
        for cid in customer_ids
    )


def _write(
    warehouse: Warehouse, table: TableSpec, run: RunInfo, lake: Lake, day: date, rows_sql: str
) -> Published:
    """Stage `rows_sql` as `table`'s `day` in `run`, audit (no checks) and publish or hold it."""
    name = table.qualified_name
    _, published = publish.write_audit_publish(
        warehouse,
        table,
        run,
        CODE_VERSIONS[name],
        {day: input_now(lake, name, day) or ""},
        rows_sql,
        checks=[],
    )
    return published


def hold_silver(
    warehouse: Warehouse, table: TableSpec, run: RunInfo, lake: Lake, day: date, rows_sql: str
) -> list[PartitionVersion]:
    """Stage `rows_sql` as `table`'s `day` in a holding run, audit (no checks) and hold it."""
    return _write(warehouse, table, run, lake, day, rows_sql).held


def hold_customers(
    connect: Connect, lake: Lake, manifest_id: str, day: date, *customer_ids: str
) -> list[PartitionVersion]:
    """A backfill run of `manifest_id` that holds silver.customers for `day`."""
    run = RunInfo(f"run-{manifest_id}", BACKFILL, HELD_AT, manifest_id, hold=True)
    with connect() as warehouse:
        return hold_silver(
            warehouse, SILVER_CUSTOMERS, run, lake, day, customers_sql(day, *customer_ids)
        )


def publish_customers(connect: Connect, lake: Lake, day: date, *customer_ids: str) -> None:
    """A daily run that publishes silver.customers for `day` (what a backfill then replaces)."""
    run = RunInfo(f"daily-{day}", LIVE, HELD_AT)
    with connect() as warehouse:
        _write(warehouse, SILVER_CUSTOMERS, run, lake, day, customers_sql(day, *customer_ids))


def corrected_transactions(day: date, deposit: str) -> str:
    """A corrected silver.transactions delivery for `day`: C1's deposit is `deposit`."""
    return " UNION ALL ".join(
        [
            bound_dates._transaction(day, "E1", "A1", "C1", "DEPOSIT", deposit),
            bound_dates._transaction(day, "E2", "A1", "C1", "PURCHASE", "30.00"),
            bound_dates._transaction(day, "E3", "A2", "C2", "DEPOSIT", "50.00"),
        ]
    )


def publish_live(connect: Connect) -> None:
    """Two days of silver (test_bound_dates' rows) and their customer summaries, published."""
    with connect() as warehouse:
        bound_dates._publish_silver(warehouse)
        run = RunInfo("daily", LIVE, HELD_AT)
        name = GOLD_DAILY_CUSTOMER_SUMMARY.qualified_name
        gold.build_gold(
            warehouse, run, GOLD_DAILY_CUSTOMER_SUMMARY, [DAY1, DAY2], CODE_VERSIONS[name]
        )


def hold_two_units(
    connect: Connect, lake: Lake, manifest_id: str, deposit: str = "200.00", run_id: str = "held"
) -> list[PartitionVersion]:
    """A held backfill run of two publish units: a corrected silver.transactions for DAY1, and
    the customer summary of DAY1 computed from it (over `publish_live`)."""
    run = RunInfo(f"{run_id}-{manifest_id}", BACKFILL, HELD_AT, manifest_id, hold=True)
    summary = GOLD_DAILY_CUSTOMER_SUMMARY.qualified_name
    with connect() as warehouse:
        silver = hold_silver(
            warehouse, SILVER_TRANSACTIONS, run, lake, DAY1, corrected_transactions(DAY1, deposit)
        )
        result = gold.build_gold(
            warehouse, run, GOLD_DAILY_CUSTOMER_SUMMARY, [DAY1], CODE_VERSIONS[summary]
        )
    return [*silver, *(v for versions in result.held.values() for v in versions)]
