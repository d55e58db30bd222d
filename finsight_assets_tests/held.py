"""Hold a silver.customers partition for a manifest through the real protocol (stage, audit,
hold), without Spark: what a backfill run that needs approval leaves for its approvers."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from finsight_assets.lib.contract.run_tags import BACKFILL, LIVE
from finsight_assets.lib.engines.lake import Lake
from finsight_assets.lib.engines.warehouse import Connect
from finsight_assets.lib.layers.silver_inputs import input_now
from finsight_assets.lib.tables.registry import CODE_VERSIONS
from finsight_assets.lib.tables.silver_customers import SILVER_CUSTOMERS
from finsight_assets.lib.wap import publish
from finsight_assets.lib.wap.model import PartitionVersion, RunInfo

HELD_AT = datetime(2025, 3, 10, 8, 0, tzinfo=UTC)


def customers_sql(day: date, *customer_ids: str) -> str:
    return " UNION ALL ".join(
        f"SELECT DATE '{day}' AS business_date, '{cid}' AS customer_id, 'US' AS country, "
        "'RETAIL' AS segment, 'VERIFIED' AS kyc_status, "
        "CAST('2024-01-01 00:00:00+00' AS TIMESTAMP WITH TIME ZONE) AS created_at, "
        f"'{'a' * 64}' AS email_sha256"
        for cid in customer_ids
    )


def _customers(connect: Connect, lake: Lake, run: RunInfo, day: date, customer_ids) -> Any:
    name = SILVER_CUSTOMERS.qualified_name
    with connect() as warehouse:
        _, published = publish.write_audit_publish(
            warehouse,
            SILVER_CUSTOMERS,
            run,
            CODE_VERSIONS[name],
            {day: input_now(lake, name, day) or ""},
            customers_sql(day, *customer_ids),
            checks=[],
        )
    return published


def hold_customers(
    connect: Connect, lake: Lake, manifest_id: str, day: date, *customer_ids: str
) -> list[PartitionVersion]:
    """A backfill run of `manifest_id` that holds silver.customers for `day`."""
    run = RunInfo(f"run-{manifest_id}", BACKFILL, HELD_AT, manifest_id, hold=True)
    return _customers(connect, lake, run, day, customer_ids).held


def publish_customers(connect: Connect, lake: Lake, day: date, *customer_ids: str) -> None:
    """A daily run that publishes silver.customers for `day` (what a backfill then replaces)."""
    _customers(connect, lake, RunInfo(f"daily-{day}", LIVE, HELD_AT), day, customer_ids)
