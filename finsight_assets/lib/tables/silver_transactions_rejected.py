"""silver.transactions_rejected: raw transactions that broke a contract rule, with the rule."""

from finsight_assets.lib.contract.tables import (
    DATE,
    RAW_SCHEMAS,
    REJECTION_REASONS,
    TEXT,
    Column,
    sql_columns,
)
from finsight_assets.lib.tables.checks import SILVER_CHECKS
from finsight_assets.lib.tables.declaration import Table, one_of
from finsight_assets.lib.tables.silver_transactions import TRANSACTION_EVENTS

# Rejected rows may lack an event_id, so they have no key: the diff compares whole rows.
SILVER_TRANSACTIONS_REJECTED = Table(
    schema="silver",
    name="transactions_rejected",
    description="Raw transactions that failed a contract rule, with their reason_code.",
    code_version="1",
    columns=(
        Column("business_date", DATE, nullable=False),
        *sql_columns(RAW_SCHEMAS["transactions"]),
        Column("reason_code", TEXT, nullable=False),
    ),
    key=None,
    money_columns=("amount",),
    rules={"reason_code": (one_of(REJECTION_REASONS),)},
    # Computed together with silver.transactions: the same transform's REJECTED rows.
    source=TRANSACTION_EVENTS,
    outcome="REJECTED",
    checks=SILVER_CHECKS,
)
