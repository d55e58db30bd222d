"""The gold tables as set-based SQL in the subset DuckDB and Snowflake both run.

Each function returns a SELECT of a table's business columns for a range of business dates,
reading the published silver tables (and, for balances, the published previous day), and the
parameters its `?` placeholders take, in order: the dates are bound, never written into the text.
`reads` names the relation each table is read from instead (a held backfill reads its own held
versions over the published ones, `gold.py`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Any

from finsight_assets.lib.contract import tables as contract
from finsight_assets.lib.engines.warehouse import bind

MONEY = contract.MONEY_SQL
Reads = Mapping[str, str]


def _read(reads: Reads | None, table: contract.TableSpec) -> str:
    return (reads or {}).get(table.qualified_name, table.qualified_name)


def _range(dates: Sequence[date]) -> tuple[str, list[Any]]:
    low, low_params = bind(min(dates))
    high, high_params = bind(max(dates))
    return f"BETWEEN {low} AND {high}", low_params + high_params


def _money(expression: str) -> str:
    """An amount as MONEY; NULL where it does not fit, which the blocking `money_fits` check
    reports by day and key (a cast would fail the whole statement, naming no day)."""
    return (
        f"CAST(CASE WHEN ABS({expression}) < {contract.MONEY_LIMIT} THEN {expression} END "
        f"AS {MONEY})"
    )


def _sum_usd_of(event_type: str) -> str:
    return _money(f"COALESCE(SUM(CASE WHEN event_type = '{event_type}' THEN amount_usd END), 0)")


def daily_customer_summary(
    dates: Sequence[date], reads: Reads | None = None
) -> tuple[str, list[Any]]:
    """One row per customer and day with at least one silver transaction."""
    dates_sql, params = _range(dates)
    sql = f"""
SELECT business_date,
       customer_id,
       CAST(COUNT(*) AS BIGINT) AS txn_count,
       {_sum_usd_of("PURCHASE")} AS purchase_usd,
       {_sum_usd_of("REFUND")} AS refund_usd,
       {_sum_usd_of("DEPOSIT")} AS deposit_usd,
       {_sum_usd_of("WITHDRAWAL")} AS withdrawal_usd,
       {_sum_usd_of("FEE")} AS fee_usd,
       {_money("SUM(signed_amount_usd)")} AS net_flow_usd
FROM {_read(reads, contract.SILVER_TRANSACTIONS)}
WHERE business_date {dates_sql}
GROUP BY business_date, customer_id
"""
    return sql, params


def segment_daily_report(
    dates: Sequence[date], reads: Reads | None = None
) -> tuple[str, list[Any]]:
    """Activity per segment and country; customers missing from the snapshot count as UNKNOWN/ZZ."""
    dates_sql, params = _range(dates)
    sql = f"""
SELECT t.business_date,
       COALESCE(c.segment, '{contract.UNKNOWN_SEGMENT}') AS segment,
       COALESCE(c.country, '{contract.UNKNOWN_COUNTRY}') AS country,
       CAST(COUNT(DISTINCT t.customer_id) AS BIGINT) AS active_customers,
       CAST(COUNT(*) AS BIGINT) AS txn_count,
       {_money("SUM(t.signed_amount_usd)")} AS net_flow_usd
FROM {_read(reads, contract.SILVER_TRANSACTIONS)} AS t
LEFT JOIN {_read(reads, contract.SILVER_CUSTOMERS)} AS c
  ON c.business_date = t.business_date AND c.customer_id = t.customer_id
WHERE t.business_date {dates_sql}
GROUP BY t.business_date, COALESCE(c.segment, '{contract.UNKNOWN_SEGMENT}'),
         COALESCE(c.country, '{contract.UNKNOWN_COUNTRY}')
"""
    return sql, params


def account_daily_balance(
    dates: Sequence[date], reads: Reads | None = None
) -> tuple[str, list[Any]]:
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
    flow_dates, flow_params = _range(days)
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
  FROM {_read(reads, contract.GOLD_ACCOUNT_DAILY_BALANCE)}
  WHERE business_date = {previous}
),
flows AS (
  SELECT business_date, account_id, MAX(customer_id) AS customer_id,
         SUM(signed_amount_usd) AS net_flow_usd
  FROM {_read(reads, contract.SILVER_TRANSACTIONS)}
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
       {_money("COALESCE(flows.net_flow_usd, 0)")} AS net_flow_usd,
       {_money(closing)} AS closing_balance_usd
FROM grid
LEFT JOIN flows
  ON flows.business_date = grid.business_date AND flows.account_id = grid.account_id
LEFT JOIN opening ON opening.account_id = grid.account_id
"""
    return sql, params
