"""The single-machine alternative a user might pick: the contract's six tables for one business
date in plain DuckDB SQL, straight from the raw files, with no staging, audits, versions or
Dagster. The yardstick `bench_end_to_end` and `bench_layers` print the project's ratio to.

Silver is written here afresh as plain SQL (the project runs it in Spark); gold runs the
project's own SELECTs (each gold declaration's `sql`, `lib/tables/`) into plain tables, so the
comparison is of everything around the same logic.
`finsight_assets_tests/test_plain_duckdb_baseline.py` checks that both give the same rows.

    python -m benchmarks.plain_duckdb LAKE_ROOT YYYY-MM-DD [DATABASE]
"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import duckdb

from finsight_assets.lib.contract import tables as contract
from finsight_assets.lib.engines.lake import LocalLake
from finsight_assets.lib.layers.silver_sql import PYTHON_WHITESPACE
from finsight_assets.lib.tables.gold_account_daily_balance import GOLD_ACCOUNT_DAILY_BALANCE
from finsight_assets.lib.tables.gold_daily_customer_summary import GOLD_DAILY_CUSTOMER_SUMMARY
from finsight_assets.lib.tables.gold_segment_daily_report import GOLD_SEGMENT_DAILY_REPORT
from finsight_assets.lib.tables.registry import TABLES
from finsight_assets.lib.tables.silver_transactions_rejected import SILVER_TRANSACTIONS_REJECTED

# Where each of the six tables lands, by the project's name for it.
PLAIN = {table.qualified_name: f"plain.{table.schema}_{table.name}" for table in TABLES}


def _in(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


def _files(lake: LocalLake, table: str, day: date) -> list[str]:
    return [f.uri for f in lake.raw_files(table, day)]


def _transactions_sql() -> str:
    missing = " OR ".join(f"{name} IS NULL" for name in contract.REQUIRED_TRANSACTION_FIELDS)
    order = ", ".join(f"{name} ASC NULLS LAST" for name in contract.DELIVERY_TIE_BREAK)
    return f"""
CREATE TEMP TABLE outcomes AS
WITH ranked AS (
  SELECT raw.*, CAST($day AS DATE) AS business_date,
         CASE WHEN event_id IS NULL THEN 1 ELSE ROW_NUMBER() OVER (
           PARTITION BY event_id ORDER BY ingested_at DESC NULLS LAST, {order}) END AS rank
  FROM read_parquet($transactions) AS raw
), rated AS (
  SELECT ranked.*, CASE WHEN ranked.currency = '{contract.BASE_CURRENCY}'
                   THEN CAST(1 AS DECIMAL(18, 8)) ELSE fx.usd_rate END AS usd_rate
  FROM ranked LEFT JOIN read_parquet($fx) AS fx ON fx.currency = ranked.currency
)
SELECT *,
  CASE WHEN rank > 1 THEN NULL
       WHEN {missing} THEN '{contract.MISSING_FIELD}'
       WHEN event_type NOT IN ({_in(contract.EVENT_TYPES)}) THEN '{contract.UNKNOWN_EVENT_TYPE}'
       WHEN amount <= 0 THEN '{contract.NON_POSITIVE_AMOUNT}'
       WHEN CAST(timezone('{contract.BUSINESS_TIME_ZONE}', event_ts) AS DATE) <> business_date
         THEN '{contract.WRONG_BUSINESS_DATE}'
       WHEN usd_rate IS NULL THEN '{contract.UNKNOWN_CURRENCY}'
  END AS reason_code
FROM rated
"""


def build(lake_root: Path, day: date, database: str = ":memory:") -> duckdb.DuckDBPyConnection:
    """The six tables of `day` in a DuckDB database (schema `plain`); returns its connection."""
    lake = LocalLake(lake_root)
    db = duckdb.connect(database)
    db.execute("SET TimeZone = 'UTC'")
    db.execute("CREATE SCHEMA IF NOT EXISTS plain")
    params = {
        "day": day,
        "transactions": _files(lake, "transactions", day),
        "fx": _files(lake, "fx_rates", day),
    }
    db.execute(_transactions_sql(), params)
    amount_usd = "CAST(ROUND(amount * usd_rate, 2) AS DECIMAL(18, 2))"
    credit = _in(contract.CREDIT_EVENT_TYPES)
    db.execute(
        f"CREATE TABLE {PLAIN['silver.transactions']} AS SELECT business_date, event_id, "
        "transaction_id, account_id, customer_id, event_type, merchant_category, currency, "
        f"amount, usd_rate, {amount_usd} AS amount_usd, CASE WHEN event_type IN ({credit}) "
        f"THEN {amount_usd} ELSE -{amount_usd} END AS signed_amount_usd, event_ts, ingested_at "
        "FROM outcomes WHERE rank = 1 AND reason_code IS NULL"
    )
    rejected = ", ".join(SILVER_TRANSACTIONS_REJECTED.business_columns)
    db.execute(
        f"CREATE TABLE {PLAIN['silver.transactions_rejected']} AS SELECT {rejected} "
        "FROM outcomes WHERE reason_code IS NOT NULL"
    )
    space = "".join(PYTHON_WHITESPACE)
    db.execute(
        f"""
CREATE TABLE {PLAIN["silver.customers"]} AS
WITH ranked AS (
  SELECT raw.*, ROW_NUMBER() OVER (PARTITION BY customer_id ORDER BY updated_at DESC NULLS LAST,
    created_at, country, segment, kyc_status, email, full_name) AS rank,
    regexp_replace(email, '^[' || $space || ']+|[' || $space || ']+$', '', 'g') AS trimmed
  FROM read_parquet($customers) AS raw
)
SELECT CAST($day AS DATE) AS business_date, customer_id, country, segment, kyc_status,
       created_at, CASE WHEN trimmed <> '' THEN sha256(lower(trimmed)) END AS email_sha256
FROM ranked WHERE customer_id IS NOT NULL AND rank = 1
""",
        {"day": day, "customers": _files(lake, "customers", day), "space": space},
    )
    balance = GOLD_ACCOUNT_DAILY_BALANCE
    columns = ", ".join(f"{c.name} {c.sql_type}" for c in balance.columns)
    db.execute(f"CREATE TABLE {PLAIN[balance.qualified_name]} ({columns})")
    for table in (GOLD_DAILY_CUSTOMER_SUMMARY, GOLD_SEGMENT_DAILY_REPORT):
        sql, sql_params = table.sql([day], PLAIN)
        db.execute(f"CREATE TABLE {PLAIN[table.qualified_name]} AS {sql}", sql_params)
    sql, sql_params = balance.sql([day], PLAIN)
    db.execute(f"INSERT INTO {PLAIN[balance.qualified_name]} {sql}", sql_params)
    db.execute("DROP TABLE outcomes")
    return db


def main() -> None:
    lake_root, day = Path(sys.argv[1]), date.fromisoformat(sys.argv[2])
    build(lake_root, day, sys.argv[3] if len(sys.argv) > 3 else ":memory:").close()


if __name__ == "__main__":
    main()
