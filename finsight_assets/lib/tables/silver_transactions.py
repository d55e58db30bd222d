"""silver.transactions: deduplicated, validated transaction events with their USD amounts."""

from finsight_assets.lib.contract.tables import (
    DATE,
    EVENT_TYPES,
    MONEY_SQL,
    RATE_SQL,
    TEXT,
    TIMESTAMP_SQL,
    Column,
)
from finsight_assets.lib.tables.checks import SILVER_CHECKS
from finsight_assets.lib.tables.declaration import (
    MoneyPanel,
    RawSource,
    Table,
    above,
    at_least,
    one_of,
)

# Every raw transaction row once: VALID, REJECTED (with its reason_code) or DUPLICATE (an older
# delivery of an event). `silver_sql.transactions_sql` computes it.
TRANSACTION_EVENTS = RawSource(
    transform="transactions",
    raw_table="transactions",
    rates_table="fx_rates",
    outcomes=("VALID", "REJECTED", "DUPLICATE"),
    row_key="event_id",
)

SILVER_TRANSACTIONS = Table(
    schema="silver",
    name="transactions",
    description="Deduplicated, validated transactions with USD amounts, one row per event.",
    code_version="1",
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
    rules={
        "event_type": (one_of(EVENT_TYPES),),
        "amount": (above(0),),
        "usd_rate": (above(0),),
        "amount_usd": (at_least(0),),
    },
    source=TRANSACTION_EVENTS,
    outcome="VALID",
    checks=SILVER_CHECKS,
    panels=(MoneyPanel("net flow", "signed_amount_usd", "net flow (USD, silver)", preference=1),),
)
