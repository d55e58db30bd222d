"""One aggregate pass over a table's staged rows, per business date: the row count, the checksum,
the money totals and the rows breaking the contract schema, read once and reused by the audits
(count identity, contract schema, the diff), publish and hold; and the checksum itself, an
order-free sum of row hashes every path that verifies a version's rows computes alike.

A row's hash is computed once, where it is written first: `publish.stage` stores it beside the
staged row (`ROW_HASH`), and the versions tables keep it with each version row, so the profile
and the diff read it; only a verification recomputes it from the values (`replace.py`), or, on
a warehouse with a check hash, compares the check hashes' sum the profile took."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from finsight_assets.lib.contract.tables import Column, TableSpec
from finsight_assets.lib.engines.warehouse import Warehouse
from finsight_assets.lib.tables.contract_sql import any_violation, violations
from finsight_assets.lib.wap.model import DayProfile, StagedPartitions

# The checksum of no rows.
NO_ROWS_CHECKSUM = "0:0"
# The column of a staged or version row holding its row hash (`row_hash`); no view shows it.
ROW_HASH = "_row_hash"


def row_hash(warehouse: Warehouse, table: TableSpec, alias: str | None = None) -> str:
    """A row's hash over its business values as `table` stores them (cast to its column types,
    so staged, published, held and history rows of one version agree); `alias` qualifies the
    column names."""
    prefix = f"{alias}." if alias else ""
    return warehouse.row_hash_sql([Column(prefix + c.name, c.sql_type) for c in table.columns])


def check_hash(warehouse: Warehouse, table: TableSpec) -> str | None:
    """A row's check hash over its business values as `table` stores them
    (`Warehouse.check_hash_sql`), or None."""
    return warehouse.check_hash_sql(table.columns)


def checksum(count: Any, total: Any) -> str:
    """The checksum of `count` rows whose row hashes sum to `total`."""
    return f"{int(count)}:{int(total or 0) % (1 << 64):016x}"


def empty_day(table: TableSpec) -> DayProfile:
    """The profile of a day without rows."""
    return DayProfile(
        rows=0,
        checksum=NO_ROWS_CHECKSUM,
        totals={column: Decimal(0) for column in table.money_columns},
        violating_rows=0,
        failures=(0,) * len(violations(table, "duckdb")),
    )


def profile_rows(warehouse: Warehouse, table: TableSpec, relation: str) -> dict[date, DayProfile]:
    """Per business date of `relation` (rows of `table`'s columns and their stored `ROW_HASH`):
    its profile, in one scan."""
    checks = violations(table, warehouse.dialect)
    broken, params = any_violation(checks)
    for check in checks:
        params.extend(check.params)
    checked = check_hash(warehouse, table)
    columns = [
        "COUNT(*)",
        f"SUM({ROW_HASH})",
        f"SUM({checked})" if checked else "NULL",
        *(f"SUM({column})" for column in table.money_columns),
        f"SUM(CASE WHEN {broken} THEN 1 ELSE 0 END)",
        *(f"SUM(CASE WHEN {check.sql} THEN 1 ELSE 0 END)" for check in checks),
    ]
    money = len(table.money_columns)
    found = {}
    for business_date, count, total, check_sum, *rest in warehouse.fetchall(
        f"SELECT business_date, {', '.join(columns)} FROM {relation} GROUP BY business_date",
        params,
    ):
        found[business_date] = DayProfile(
            rows=int(count),
            checksum=checksum(count, total),
            totals={
                column: value if value is not None else Decimal(0)
                for column, value in zip(table.money_columns, rest[:money], strict=True)
            },
            violating_rows=int(rest[money] or 0),
            failures=tuple(int(n or 0) for n in rest[money + 1 :]),
            check_sum=None if check_sum is None else int(check_sum),
        )
    return found


def staged_profile(warehouse: Warehouse, staged: StagedPartitions) -> dict[date, DayProfile]:
    """Per staged date, its profile: computed by the first caller (`stage` is), then reused."""
    if staged.profile is None:
        staged.profile = profile_rows(warehouse, staged.table, staged.staging_table)
    return {d: staged.profile.get(d) or empty_day(staged.table) for d in staged.dates}
