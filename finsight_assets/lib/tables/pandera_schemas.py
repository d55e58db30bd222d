"""The pandera schema of a table: its declared columns' types and nullability, and its value
rules, for validating a frame in Python. The `contract_schema` audit checks the same declaration
as SQL where the rows are (`contract_sql.py`, which names each check as pandera does); a test
holds the two to the same verdicts. pandas and pandera are slow to import: no run imports this."""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa_schema

from finsight_assets.lib.contract.tables import ARROW_TYPES, TableSpec
from finsight_assets.lib.tables.declaration import Rule, Table


def _check(rule: Rule) -> pa_schema.Check:
    return getattr(pa_schema.Check, rule.check)(*rule.args)


def contract_schema(table: TableSpec) -> pa_schema.DataFrameSchema:
    """The pandera schema of a table's business columns (pandas with Arrow dtypes: exact money);
    a bare shape, not a declared table, has no value rules."""
    rules = table.rules if isinstance(table, Table) else {}
    columns = {
        column.name: pa_schema.Column(
            pd.ArrowDtype(ARROW_TYPES[column.sql_type]),
            checks=[_check(rule) for rule in rules.get(column.name, ())],
            nullable=column.nullable,
        )
        for column in table.columns
    }
    return pa_schema.DataFrameSchema(columns, strict=True, name=table.qualified_name)
