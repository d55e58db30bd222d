"""Candidate rows written as SQL, for staging a few rows of a table on either warehouse flavour,
and a warehouse that counts the rows each fetch brings into Python."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date
from typing import Any


class CountingWarehouse:
    """A warehouse that counts the rows each fetch brings into Python, and refuses to stream."""

    def __init__(self, warehouse: Any):
        self.warehouse = warehouse
        self.dialect = warehouse.dialect
        self.fetched: list[tuple[str, int]] = []

    def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        rows = self.warehouse.fetchall(sql, params)
        self.fetched.append((sql, len(rows)))
        return rows

    def staged_rows_fetched(self) -> int:
        """The rows fetched by statements reading a staging table."""
        staging = f"{self.warehouse.staging_schema}."
        return sum(n for sql, n in self.fetched if staging in sql)

    def fetch_arrow_batches(
        self, sql: str, batch_rows: int, params: Sequence[Any] = ()
    ) -> Iterator:
        raise AssertionError(f"an audit streamed rows into Python: {sql}")

    def __getattr__(self, name: str) -> Any:
        return getattr(self.warehouse, name)


def _ts(text: str) -> str:
    return f"CAST('{text}' AS TIMESTAMP WITH TIME ZONE)"


def transaction(
    day: date,
    event_id: str | None,
    event_type: str = "PURCHASE",
    amount: str = "10.00",
    amount_usd: str = "10.00",
) -> str:
    event = "CAST(NULL AS VARCHAR)" if event_id is None else f"'{event_id}'"
    return (
        f"SELECT CAST('{day}' AS DATE) AS business_date, {event} AS event_id, "
        "'t' AS transaction_id, 'a' AS account_id, 'c' AS customer_id, "
        f"'{event_type}' AS event_type, CAST(NULL AS VARCHAR) AS merchant_category, "
        f"'USD' AS currency, CAST({amount} AS DECIMAL(18,2)) AS amount, "
        "CAST(1 AS DECIMAL(18,8)) AS usd_rate, "
        f"CAST({amount_usd} AS DECIMAL(18,2)) AS amount_usd, "
        f"CAST({amount_usd} AS DECIMAL(18,2)) AS signed_amount_usd, "
        f"{_ts('2025-03-03 12:00:00+00')} AS event_ts, {_ts('2025-03-03 13:00:00+00')} "
        "AS ingested_at"
    )


def customer(day: date, customer_id: str, email: str) -> str:
    return (
        f"SELECT CAST('{day}' AS DATE) AS business_date, '{customer_id}' AS customer_id, "
        "'US' AS country, 'RETAIL' AS segment, 'VERIFIED' AS kyc_status, "
        f"{_ts('2024-01-01 00:00:00+00')} AS created_at, '{email}' AS email_sha256"
    )


def segment(day: date, country: str, active: int, money_type: str = "DECIMAL(18,2)") -> str:
    return (
        f"SELECT CAST('{day}' AS DATE) AS business_date, 'RETAIL' AS segment, "
        f"'{country}' AS country, CAST({active} AS BIGINT) AS active_customers, "
        f"CAST(1 AS BIGINT) AS txn_count, CAST(5.00 AS {money_type}) AS net_flow_usd"
    )
