"""The gold tables as set-based SQL in the subset DuckDB and Snowflake both run.

Each function returns a SELECT of a table's business columns for a range of business dates,
reading the published silver tables (and, for balances, the published previous day).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from finsight_assets.lib.contract import tables as contract
from finsight_assets.lib.engines.warehouse import date_literal

MONEY = contract.MONEY_SQL


def _range(dates: Sequence[date]) -> str:
    return f"BETWEEN {date_literal(min(dates))} AND {date_literal(max(dates))}"


def _sum_usd_of(event_type: str) -> str:
    return (
        f"CAST(COALESCE(SUM(CASE WHEN event_type = '{event_type}' THEN amount_usd END), 0) "
        f"AS {MONEY})"
    )


def daily_customer_summary(dates: Sequence[date]) -> str:
    """One row per customer and day with at least one silver transaction."""
    return f"""
SELECT business_date,
       customer_id,
       CAST(COUNT(*) AS BIGINT) AS txn_count,
       {_sum_usd_of("PURCHASE")} AS purchase_usd,
       {_sum_usd_of("REFUND")} AS refund_usd,
       {_sum_usd_of("DEPOSIT")} AS deposit_usd,
       {_sum_usd_of("WITHDRAWAL")} AS withdrawal_usd,
       {_sum_usd_of("FEE")} AS fee_usd,
       CAST(SUM(signed_amount_usd) AS {MONEY}) AS net_flow_usd
FROM silver.transactions
WHERE business_date {_range(dates)}
GROUP BY business_date, customer_id
"""


def segment_daily_report(dates: Sequence[date]) -> str:
    """Activity per segment and country; customers missing from the snapshot count as UNKNOWN/ZZ."""
    return f"""
SELECT t.business_date,
       COALESCE(c.segment, '{contract.UNKNOWN_SEGMENT}') AS segment,
       COALESCE(c.country, '{contract.UNKNOWN_COUNTRY}') AS country,
       CAST(COUNT(DISTINCT t.customer_id) AS BIGINT) AS active_customers,
       CAST(COUNT(*) AS BIGINT) AS txn_count,
       CAST(SUM(t.signed_amount_usd) AS {MONEY}) AS net_flow_usd
FROM silver.transactions AS t
LEFT JOIN silver.customers AS c
  ON c.business_date = t.business_date AND c.customer_id = t.customer_id
WHERE t.business_date {_range(dates)}
GROUP BY t.business_date, COALESCE(c.segment, '{contract.UNKNOWN_SEGMENT}'),
         COALESCE(c.country, '{contract.UNKNOWN_COUNTRY}')
"""


def account_daily_balance(dates: Sequence[date]) -> str:
    """Closing balance per account and day, from the previous day's published closing balance.

    Every account seen before or within the range gets a row on every day from its first
    transaction on, so a day without transactions carries every balance forward.
    """
    days = sorted(set(dates))
    if days != [days[0] + timedelta(days=i) for i in range(len(days))]:
        raise ValueError("account_daily_balance needs a contiguous range of business dates")
    calendar = " UNION ALL ".join(f"SELECT {date_literal(d)} AS business_date" for d in days)
    previous = date_literal(days[0] - timedelta(days=1))
    return f"""
WITH calendar AS ({calendar}),
opening AS (
  SELECT account_id, customer_id, closing_balance_usd
  FROM gold.account_daily_balance
  WHERE business_date = {previous}
),
flows AS (
  SELECT business_date, account_id, MAX(customer_id) AS customer_id,
         SUM(signed_amount_usd) AS net_flow_usd
  FROM silver.transactions
  WHERE business_date {_range(days)}
  GROUP BY business_date, account_id
),
accounts AS (
  SELECT account_id, MAX(customer_id) AS customer_id, MIN(first_date) AS first_date
  FROM (
    SELECT account_id, customer_id, {date_literal(days[0])} AS first_date FROM opening
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
       CAST(COALESCE(flows.net_flow_usd, 0) AS {MONEY}) AS net_flow_usd,
       CAST(COALESCE(opening.closing_balance_usd, 0)
            + SUM(COALESCE(flows.net_flow_usd, 0)) OVER (
                PARTITION BY grid.account_id ORDER BY grid.business_date
                ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS {MONEY})
         AS closing_balance_usd
FROM grid
LEFT JOIN flows
  ON flows.business_date = grid.business_date AND flows.account_id = grid.account_id
LEFT JOIN opening ON opening.account_id = grid.account_id
"""
