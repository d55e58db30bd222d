"""What every table of FinSight's data contract (docs/contract.md) shares: the raw layout,
the contract's rules and reason codes, the column and SQL types, a table's shape and its lineage
columns. Each table itself is declared in `lib/tables/`."""

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
    """A table's shape: its business columns, the key that identifies a row, its money columns."""

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


def sql_columns(schema: pa.Schema) -> tuple[Column, ...]:
    """The contract's SQL columns of an Arrow schema (nullable)."""
    sql_type = {arrow: sql for sql, arrow in ARROW_TYPES.items()}
    return tuple(Column(field.name, sql_type[field.type]) for field in schema)
