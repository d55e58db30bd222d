"""pandera schemas of the silver and gold tables: the contract's types and value rules."""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa_schema

from finsight_assets.lib.contract import tables as contract
from finsight_assets.lib.contract.tables import TableSpec

_HEX_SHA256 = r"^[0-9a-f]{64}$"

# Value rules beyond type and nullability, per table and column.
_RULES: dict[str, dict[str, list[pa_schema.Check]]] = {
    contract.SILVER_TRANSACTIONS.qualified_name: {
        "event_type": [pa_schema.Check.isin(contract.EVENT_TYPES)],
        "amount": [pa_schema.Check.gt(0)],
        "usd_rate": [pa_schema.Check.gt(0)],
        "amount_usd": [pa_schema.Check.ge(0)],
    },
    contract.SILVER_TRANSACTIONS_REJECTED.qualified_name: {
        "reason_code": [pa_schema.Check.isin(contract.REJECTION_REASONS)],
    },
    contract.SILVER_CUSTOMERS.qualified_name: {
        "email_sha256": [pa_schema.Check.str_matches(_HEX_SHA256)],
    },
    contract.GOLD_DAILY_CUSTOMER_SUMMARY.qualified_name: {
        "txn_count": [pa_schema.Check.gt(0)],
        **{
            name: [pa_schema.Check.ge(0)]
            for name in ("purchase_usd", "refund_usd", "deposit_usd", "withdrawal_usd", "fee_usd")
        },
    },
    contract.GOLD_SEGMENT_DAILY_REPORT.qualified_name: {
        "active_customers": [pa_schema.Check.gt(0)],
        "txn_count": [pa_schema.Check.gt(0)],
        "country": [pa_schema.Check.str_length(2, 2)],
    },
}


def contract_schema(table: TableSpec) -> pa_schema.DataFrameSchema:
    """The pandera schema of a table's business columns (pandas with Arrow dtypes: exact money)."""
    rules = _RULES.get(table.qualified_name, {})
    columns = {
        column.name: pa_schema.Column(
            pd.ArrowDtype(contract.ARROW_TYPES[column.sql_type]),
            checks=rules.get(column.name, []),
            nullable=column.nullable,
        )
        for column in table.columns
    }
    return pa_schema.DataFrameSchema(columns, strict=True, name=table.qualified_name)
