"""gold.segment_daily_report: per segment, country and day, activity and net flow."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from finsight_assets.lib.contract.tables import (
    COUNT_SQL,
    DATE,
    MONEY_SQL,
    TEXT,
    UNKNOWN_COUNTRY,
    UNKNOWN_SEGMENT,
    Column,
)
from finsight_assets.lib.tables.checks import CUSTOMERS_SNAPSHOT_PRESENT, GOLD_CHECKS
from finsight_assets.lib.tables.declaration import Reads, Table, above, length
from finsight_assets.lib.tables.sql import date_range, money, read


def select(dates: Sequence[date], reads: Reads | None = None) -> tuple[str, list[Any]]:
    """Activity per segment and country; customers missing from the snapshot count as UNKNOWN/ZZ."""
    dates_sql, params = date_range(dates)
    sql = f"""
SELECT t.business_date,
       COALESCE(c.segment, '{UNKNOWN_SEGMENT}') AS segment,
       COALESCE(c.country, '{UNKNOWN_COUNTRY}') AS country,
       CAST(COUNT(DISTINCT t.customer_id) AS BIGINT) AS active_customers,
       CAST(COUNT(*) AS BIGINT) AS txn_count,
       {money("SUM(t.signed_amount_usd)")} AS net_flow_usd
FROM {read(reads, "silver.transactions")} AS t
LEFT JOIN {read(reads, "silver.customers")} AS c
  ON c.business_date = t.business_date AND c.customer_id = t.customer_id
WHERE t.business_date {dates_sql}
GROUP BY t.business_date, COALESCE(c.segment, '{UNKNOWN_SEGMENT}'),
         COALESCE(c.country, '{UNKNOWN_COUNTRY}')
"""
    return sql, params


GOLD_SEGMENT_DAILY_REPORT = Table(
    schema="gold",
    name="segment_daily_report",
    description="Per segment, country and day: active customers, transactions and net flow.",
    code_version="1",
    columns=(
        Column("business_date", DATE, nullable=False),
        Column("segment", TEXT, nullable=False),
        Column("country", TEXT, nullable=False),
        Column("active_customers", COUNT_SQL, nullable=False),
        Column("txn_count", COUNT_SQL, nullable=False),
        Column("net_flow_usd", MONEY_SQL, nullable=False),
    ),
    key=("business_date", "segment", "country"),
    money_columns=("net_flow_usd",),
    rules={
        "active_customers": (above(0),),
        "txn_count": (above(0),),
        "country": (length(2, 2),),
    },
    reads=("silver.transactions", "silver.customers"),
    sql=select,
    checks=(*GOLD_CHECKS, CUSTOMERS_SNAPSHOT_PRESENT),
)
