"""Run the whole lib pipeline (silver then gold) without Dagster, for the contract tests."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path

from finsight_assets.lib.contract.run_tags import BACKFILL, LIVE
from finsight_assets.lib.engines.duckdb_warehouse import (
    DuckDBWarehouse,
    duckdb_connector,
    open_duckdb,
)
from finsight_assets.lib.engines.lake import LocalLake
from finsight_assets.lib.engines.silver_engine import SilverEngine
from finsight_assets.lib.engines.warehouse import Connect
from finsight_assets.lib.layers import gold, silver
from finsight_assets.lib.tables.gold_account_daily_balance import GOLD_ACCOUNT_DAILY_BALANCE
from finsight_assets.lib.tables.gold_daily_customer_summary import GOLD_DAILY_CUSTOMER_SUMMARY
from finsight_assets.lib.tables.gold_segment_daily_report import GOLD_SEGMENT_DAILY_REPORT
from finsight_assets.lib.tables.silver_customers import CUSTOMER_SNAPSHOTS
from finsight_assets.lib.tables.silver_transactions import TRANSACTION_EVENTS
from finsight_assets.lib.wap.model import LayerResult, RunInfo

CLOCK = datetime(2025, 6, 1, 6, 0, tzinfo=UTC)


def run_pipeline(
    engine: SilverEngine,
    home: Path,
    dates: Sequence[date],
    run_id: str = "run-1",
    first: date | None = None,
    manifest_id: str | None = None,
    connect: Connect | None = None,
    hold: bool = False,
) -> dict[str, LayerResult]:
    """Materialize silver and gold for `dates` the way the assets do, in dependency order, silver
    on `engine` (the `engine` fixture: DuckDB; `LocalSparkEngine(spark)` for Spark).

    The warehouse is the home's DuckDB file unless `connect` opens another one; `hold` runs
    as a backfill that needs approval.
    """
    mode = BACKFILL if manifest_id else LIVE
    run = RunInfo(run_id=run_id, mode=mode, clock=CLOCK, manifest_id=manifest_id, hold=hold)
    lake = LocalLake(home / "lake")

    connect = connect or duckdb_connector(home / "warehouse.duckdb")
    results = {
        "silver.transactions": silver.build_silver(
            TRANSACTION_EVENTS, engine, lake, connect, run, dates, "1"
        ),
        "silver.customers": silver.build_silver(
            CUSTOMER_SNAPSHOTS, engine, lake, connect, run, dates, "1"
        ),
    }
    with connect() as warehouse:
        results["gold.daily_customer_summary"] = gold.build_gold(
            warehouse, run, GOLD_DAILY_CUSTOMER_SUMMARY, dates, "1"
        )
        results["gold.segment_daily_report"] = gold.build_gold(
            warehouse, run, GOLD_SEGMENT_DAILY_REPORT, dates, "1"
        )
        results["gold.account_daily_balance"] = gold.build_gold(
            warehouse, run, GOLD_ACCOUNT_DAILY_BALANCE, dates, "1", first or min(dates)
        )
    return results


def query(home: Path, sql: str) -> list[tuple]:
    with open_duckdb(home / "warehouse.duckdb") as connection:
        DuckDBWarehouse(connection)
        return connection.execute(sql).fetchall()
