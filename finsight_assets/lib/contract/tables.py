"""FinSight's data contract (../shared/CONTRACT.md) as code: raw layout, table shapes and rules."""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

# Business dates are days in New York.
BUSINESS_TIME_ZONE = "America/New_York"

EVENT_TYPES = ("PURCHASE", "REFUND", "DEPOSIT", "WITHDRAWAL", "FEE")
CREDIT_EVENT_TYPES = ("DEPOSIT", "REFUND")
BASE_CURRENCY = "USD"

# Rejection reasons in precedence order: the first rule a row fails gives its reason_code.
MISSING_FIELD = "MISSING_FIELD"
UNKNOWN_EVENT_TYPE = "UNKNOWN_EVENT_TYPE"
NON_POSITIVE_AMOUNT = "NON_POSITIVE_AMOUNT"
WRONG_BUSINESS_DATE = "WRONG_BUSINESS_DATE"
UNKNOWN_CURRENCY = "UNKNOWN_CURRENCY"
REJECTION_REASONS = (
    MISSING_FIELD,
    UNKNOWN_EVENT_TYPE,
    NON_POSITIVE_AMOUNT,
    WRONG_BUSINESS_DATE,
    UNKNOWN_CURRENCY,
)
REQUIRED_TRANSACTION_FIELDS = (
    "event_id",
    "transaction_id",
    "account_id",
    "customer_id",
    "event_type",
    "amount",
    "currency",
    "event_ts",
)

UNKNOWN_SEGMENT = "UNKNOWN"
UNKNOWN_COUNTRY = "ZZ"

MONEY = pa.decimal128(18, 2)
RATE = pa.decimal128(18, 8)
UTC_MICROS = pa.timestamp("us", tz="UTC")

# The raw tables: folder name -> the columns the pipeline reads and the Arrow type each must have.
RAW_SCHEMAS: dict[str, pa.Schema] = {
    "transactions": pa.schema(
        [
            ("event_id", pa.string()),
            ("transaction_id", pa.string()),
            ("account_id", pa.string()),
            ("customer_id", pa.string()),
            ("event_type", pa.string()),
            ("amount", MONEY),
            ("currency", pa.string()),
            ("merchant_category", pa.string()),
            ("event_ts", UTC_MICROS),
            ("ingested_at", UTC_MICROS),
        ]
    ),
    "fx_rates": pa.schema([("currency", pa.string()), ("usd_rate", RATE)]),
    "customers": pa.schema(
        [
            ("customer_id", pa.string()),
            ("full_name", pa.string()),
            ("email", pa.string()),
            ("country", pa.string()),
            ("segment", pa.string()),
            ("kyc_status", pa.string()),
            ("created_at", UTC_MICROS),
            ("updated_at", UTC_MICROS),
        ]
    ),
}
RAW_TABLES = tuple(RAW_SCHEMAS)
# Among deliveries of one event_id the greatest ingested_at wins; these columns, ascending with
# NULLs last, only make the pick deterministic among identical deliveries.
DELIVERY_TIE_BREAK = tuple(
    name for name in RAW_SCHEMAS["transactions"].names if name not in ("event_id", "ingested_at")
)


@dataclass(frozen=True)
class Column:
    name: str
    sql_type: str
    nullable: bool = True


@dataclass(frozen=True)
class TableSpec:
    """A silver or gold table: its business columns, the key that identifies a row, its money."""

    schema: str
    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] | None
    money_columns: tuple[str, ...] = ()

    @property
    def qualified_name(self) -> str:
        return f"{self.schema}.{self.name}"

    @property
    def business_columns(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)


# Every silver and gold row carries these; they are the only columns that may differ between
# two runs of the same code on the same input.
LINEAGE_COLUMNS = (
    Column("_run_id", "VARCHAR", nullable=False),
    Column("_code_version", "VARCHAR", nullable=False),
    Column("_mode", "VARCHAR", nullable=False),
    Column("_input_version", "VARCHAR", nullable=False),
    Column("_version_id", "VARCHAR", nullable=False),
)
LINEAGE_COLUMN_NAMES = tuple(column.name for column in LINEAGE_COLUMNS)

DATE = "DATE"
TEXT = "VARCHAR"
MONEY_SQL = "DECIMAL(18,2)"
# MONEY_SQL holds amounts below this in magnitude: a larger one is an error, never NULL or wrapped.
MONEY_LIMIT = 10**16
RATE_SQL = "DECIMAL(18,8)"
TIMESTAMP_SQL = "TIMESTAMP WITH TIME ZONE"
COUNT_SQL = "BIGINT"

_RAW_TRANSACTION_COLUMNS = (
    Column("event_id", TEXT),
    Column("transaction_id", TEXT),
    Column("account_id", TEXT),
    Column("customer_id", TEXT),
    Column("event_type", TEXT),
    Column("amount", MONEY_SQL),
    Column("currency", TEXT),
    Column("merchant_category", TEXT),
    Column("event_ts", TIMESTAMP_SQL),
    Column("ingested_at", TIMESTAMP_SQL),
)

SILVER_TRANSACTIONS = TableSpec(
    schema="silver",
    name="transactions",
    columns=(
        Column("business_date", DATE, nullable=False),
        Column("event_id", TEXT, nullable=False),
        Column("transaction_id", TEXT, nullable=False),
        Column("account_id", TEXT, nullable=False),
        Column("customer_id", TEXT, nullable=False),
        Column("event_type", TEXT, nullable=False),
        Column("merchant_category", TEXT),
        Column("currency", TEXT, nullable=False),
        Column("amount", MONEY_SQL, nullable=False),
        Column("usd_rate", RATE_SQL, nullable=False),
        Column("amount_usd", MONEY_SQL, nullable=False),
        Column("signed_amount_usd", MONEY_SQL, nullable=False),
        Column("event_ts", TIMESTAMP_SQL, nullable=False),
        Column("ingested_at", TIMESTAMP_SQL),
    ),
    key=("business_date", "event_id"),
    money_columns=("amount_usd", "signed_amount_usd"),
)

# Rejected rows may lack an event_id, so they have no key: the diff compares whole rows.
SILVER_TRANSACTIONS_REJECTED = TableSpec(
    schema="silver",
    name="transactions_rejected",
    columns=(
        Column("business_date", DATE, nullable=False),
        *_RAW_TRANSACTION_COLUMNS,
        Column("reason_code", TEXT, nullable=False),
    ),
    key=None,
    money_columns=("amount",),
)

SILVER_CUSTOMERS = TableSpec(
    schema="silver",
    name="customers",
    columns=(
        Column("business_date", DATE, nullable=False),
        Column("customer_id", TEXT, nullable=False),
        Column("country", TEXT),
        Column("segment", TEXT),
        Column("kyc_status", TEXT),
        Column("created_at", TIMESTAMP_SQL),
        Column("email_sha256", TEXT),
    ),
    key=("business_date", "customer_id"),
)

GOLD_DAILY_CUSTOMER_SUMMARY = TableSpec(
    schema="gold",
    name="daily_customer_summary",
    columns=(
        Column("business_date", DATE, nullable=False),
        Column("customer_id", TEXT, nullable=False),
        Column("txn_count", COUNT_SQL, nullable=False),
        Column("purchase_usd", MONEY_SQL, nullable=False),
        Column("refund_usd", MONEY_SQL, nullable=False),
        Column("deposit_usd", MONEY_SQL, nullable=False),
        Column("withdrawal_usd", MONEY_SQL, nullable=False),
        Column("fee_usd", MONEY_SQL, nullable=False),
        Column("net_flow_usd", MONEY_SQL, nullable=False),
    ),
    key=("business_date", "customer_id"),
    money_columns=("net_flow_usd", "purchase_usd", "deposit_usd"),
)

GOLD_ACCOUNT_DAILY_BALANCE = TableSpec(
    schema="gold",
    name="account_daily_balance",
    columns=(
        Column("business_date", DATE, nullable=False),
        Column("account_id", TEXT, nullable=False),
        Column("customer_id", TEXT, nullable=False),
        Column("net_flow_usd", MONEY_SQL, nullable=False),
        Column("closing_balance_usd", MONEY_SQL, nullable=False),
    ),
    key=("business_date", "account_id"),
    money_columns=("net_flow_usd", "closing_balance_usd"),
)

GOLD_SEGMENT_DAILY_REPORT = TableSpec(
    schema="gold",
    name="segment_daily_report",
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
)

TABLES = (
    SILVER_TRANSACTIONS,
    SILVER_TRANSACTIONS_REJECTED,
    SILVER_CUSTOMERS,
    GOLD_DAILY_CUSTOMER_SUMMARY,
    GOLD_ACCOUNT_DAILY_BALANCE,
    GOLD_SEGMENT_DAILY_REPORT,
)
TABLES_BY_NAME = {table.qualified_name: table for table in TABLES}

# The Arrow type every fetch of a column of each SQL type must have, whatever the engine.
ARROW_TYPES: dict[str, pa.DataType] = {
    DATE: pa.date32(),
    TEXT: pa.string(),
    MONEY_SQL: MONEY,
    RATE_SQL: RATE,
    TIMESTAMP_SQL: UTC_MICROS,
    COUNT_SQL: pa.int64(),
}


def arrow_schema(columns: tuple[Column, ...]) -> pa.Schema:
    """The contract's Arrow schema of these columns."""
    return pa.schema(
        [pa.field(c.name, ARROW_TYPES[c.sql_type], nullable=c.nullable) for c in columns]
    )
