"""The code version of each transform: bump it whenever the rows a transform writes change.

It is the asset's `code_version` in Dagster and the `_code_version` on every row, so a backfill
can be scoped to exactly what an older version wrote.
"""

CODE_VERSIONS: dict[str, str] = {
    "silver.transactions": "1",
    "silver.transactions_rejected": "1",
    "silver.customers": "1",
    "gold.daily_customer_summary": "1",
    "gold.account_daily_balance": "1",
    "gold.segment_daily_report": "1",
    "exports.partner_daily_export": "1",
}
