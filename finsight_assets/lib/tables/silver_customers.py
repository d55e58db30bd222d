"""silver.customers: each day's customer snapshot, the latest row per customer, email hashed."""

from finsight_assets.lib.contract.tables import DATE, TEXT, TIMESTAMP_SQL, Column
from finsight_assets.lib.tables.checks import SILVER_CHECKS
from finsight_assets.lib.tables.declaration import RawSource, Table, matches

# Every raw customer row once: VALID (the latest of its customer), SUPERSEDED or MISSING_ID.
# `silver_sql.customers_sql` computes it.
CUSTOMER_SNAPSHOTS = RawSource(
    transform="customers",
    raw_table="customers",
    outcomes=("VALID", "SUPERSEDED", "MISSING_ID"),
    row_key="customer_id",
)

SILVER_CUSTOMERS = Table(
    schema="silver",
    name="customers",
    description="The day's customer snapshot, latest row per customer, email hashed.",
    code_version="1",
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
    rules={"email_sha256": (matches(r"^[0-9a-f]{64}$"),)},
    source=CUSTOMER_SNAPSHOTS,
    outcome="VALID",
    checks=SILVER_CHECKS,
)
