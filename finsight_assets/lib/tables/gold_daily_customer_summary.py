"""gold.daily_customer_summary: per customer and day, transactions and USD sums by event type."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from finsight_assets.lib.contract.tables import COUNT_SQL, DATE, MONEY_SQL, TEXT, Column
from finsight_assets.lib.tables.checks import GOLD_CHECKS
from finsight_assets.lib.tables.declaration import MoneyPanel, Reads, Table, above, at_least
from finsight_assets.lib.tables.sql import date_range, money, read

_BY_EVENT_TYPE = ("purchase_usd", "refund_usd", "deposit_usd", "withdrawal_usd", "fee_usd")


def _sum_usd_of(event_type: str) -> str:
    return money(f"COALESCE(SUM(CASE WHEN event_type = '{event_type}' THEN amount_usd END), 0)")


def select(dates: Sequence[date], reads: Reads | None = None) -> tuple[str, list[Any]]:
    """One row per customer and day with at least one silver transaction."""
    dates_sql, params = date_range(dates)
    sql = f"""
SELECT business_date,
       customer_id,
       CAST(COUNT(*) AS BIGINT) AS txn_count,
       {_sum_usd_of("PURCHASE")} AS purchase_usd,
       {_sum_usd_of("REFUND")} AS refund_usd,
       {_sum_usd_of("DEPOSIT")} AS deposit_usd,
       {_sum_usd_of("WITHDRAWAL")} AS withdrawal_usd,
       {_sum_usd_of("FEE")} AS fee_usd,
       {money("SUM(signed_amount_usd)")} AS net_flow_usd
FROM {read(reads, "silver.transactions")}
WHERE business_date {dates_sql}
GROUP BY business_date, customer_id
"""
    return sql, params


GOLD_DAILY_CUSTOMER_SUMMARY = Table(
    schema="gold",
    name="daily_customer_summary",
    description="Per customer and day: transaction count, USD sums by event type and net flow.",
    code_version="1",
    columns=(
        Column("business_date", DATE, nullable=False),
        Column("customer_id", TEXT, nullable=False),
        Column("txn_count", COUNT_SQL, nullable=False),
        *(Column(name, MONEY_SQL, nullable=False) for name in _BY_EVENT_TYPE),
        Column("net_flow_usd", MONEY_SQL, nullable=False),
    ),
    key=("business_date", "customer_id"),
    money_columns=("net_flow_usd", "purchase_usd", "deposit_usd"),
    rules={"txn_count": (above(0),), **{name: (at_least(0),) for name in _BY_EVENT_TYPE}},
    reads=("silver.transactions",),
    sql=select,
    checks=GOLD_CHECKS,
    panels=(MoneyPanel("net flow", "net_flow_usd", "net flow (USD)"),),
)
