"""gold.account_daily_balance: per account and day, net flow and the closing balance, a chain
that each day opens from the previous day's closing balance."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from finsight_assets.lib.contract.tables import DATE, MONEY_SQL, TEXT, Column
from finsight_assets.lib.engines.warehouse import bind
from finsight_assets.lib.tables.checks import (
    BALANCE_CONTINUITY,
    CONTRACT_SCHEMA,
    DIFF_AGAINST_PUBLISHED,
    MONEY_FITS,
    RECONCILES_WITH_SILVER,
    UNIQUE_KEY,
)
from finsight_assets.lib.tables.declaration import MoneyPanel, Reads, Table
from finsight_assets.lib.tables.sql import date_range, money, read


def select(dates: Sequence[date], reads: Reads | None = None) -> tuple[str, list[Any]]:
    """Closing balance per account and day, from the previous day's published closing balance.

    Every account seen before or within the range gets a row on every day from its first
    transaction on, so a day without transactions carries every balance forward.
    """
    days = sorted(set(dates))
    if days != [days[0] + timedelta(days=i) for i in range(len(days))]:
        raise ValueError("account_daily_balance needs a contiguous range of business dates")
    calendar_days = [bind(d) for d in days]
    calendar = " UNION ALL ".join(f"SELECT {sql} AS business_date" for sql, _ in calendar_days)
    previous, previous_params = bind(days[0] - timedelta(days=1))
    flow_dates, flow_params = date_range(days)
    first, first_params = bind(days[0])
    # In the order their placeholders appear in the statement.
    params = [
        *(value for _, values in calendar_days for value in values),
        *previous_params,
        *flow_params,
        *first_params,
    ]
    closing = (
        "COALESCE(opening.closing_balance_usd, 0) + SUM(COALESCE(flows.net_flow_usd, 0)) OVER ("
        "PARTITION BY grid.account_id ORDER BY grid.business_date "
        "ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)"
    )
    sql = f"""
WITH calendar AS ({calendar}),
opening AS (
  SELECT account_id, customer_id, closing_balance_usd
  FROM {read(reads, "gold.account_daily_balance")}
  WHERE business_date = {previous}
),
flows AS (
  SELECT business_date, account_id, MAX(customer_id) AS customer_id,
         SUM(signed_amount_usd) AS net_flow_usd
  FROM {read(reads, "silver.transactions")}
  WHERE business_date {flow_dates}
  GROUP BY business_date, account_id
),
accounts AS (
  SELECT account_id, MAX(customer_id) AS customer_id, MIN(first_date) AS first_date
  FROM (
    SELECT account_id, customer_id, {first} AS first_date FROM opening
    UNION ALL
    SELECT account_id, customer_id, business_date AS first_date FROM flows
  ) AS seen
  GROUP BY account_id
),
grid AS (
  SELECT calendar.business_date, accounts.account_id, accounts.customer_id
  FROM calendar JOIN accounts ON calendar.business_date >= accounts.first_date
)
SELECT grid.business_date,
       grid.account_id,
       grid.customer_id,
       {money("COALESCE(flows.net_flow_usd, 0)")} AS net_flow_usd,
       {money(closing)} AS closing_balance_usd
FROM grid
LEFT JOIN flows
  ON flows.business_date = grid.business_date AND flows.account_id = grid.account_id
LEFT JOIN opening ON opening.account_id = grid.account_id
"""
    return sql, params


GOLD_ACCOUNT_DAILY_BALANCE = Table(
    schema="gold",
    name="account_daily_balance",
    description=(
        "Per account and day: net flow and closing balance, carried over days without data."
    ),
    code_version="1",
    columns=(
        Column("business_date", DATE, nullable=False),
        Column("account_id", TEXT, nullable=False),
        Column("customer_id", TEXT, nullable=False),
        Column("net_flow_usd", MONEY_SQL, nullable=False),
        Column("closing_balance_usd", MONEY_SQL, nullable=False),
    ),
    key=("business_date", "account_id"),
    money_columns=("net_flow_usd", "closing_balance_usd"),
    reads=("silver.transactions",),
    self_dependent=True,
    sql=select,
    checks=(
        MONEY_FITS,
        RECONCILES_WITH_SILVER,
        BALANCE_CONTINUITY,
        UNIQUE_KEY,
        CONTRACT_SCHEMA,
        DIFF_AGAINST_PUBLISHED,
    ),
    panels=(MoneyPanel("closing balances", "closing_balance_usd", "closing balances (USD)"),),
)
