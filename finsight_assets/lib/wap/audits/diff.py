"""The diff of staged partitions against the published ones: rows added, removed and changed by
key, and the change in money totals. Evidence, not a gate: a backfill is expected to change rows.

A staged partition whose checksum (`profile.py`) is the one recorded for the version published
now is the published partition (its rows were verified against that checksum when published):
it is not joined, nor are its published rows read. Nor is one whose published partition is
empty (a new day): all its rows are added. The others compare the row hashes stored with the
staged and the published rows, the stable ones the checksums sum (`profile.py`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from finsight_assets.lib.engines.warehouse import Warehouse, bound
from finsight_assets.lib.wap.layout import current_rows_sql
from finsight_assets.lib.wap.model import AuditInputs, AuditOutcome, StagedPartitions
from finsight_assets.lib.wap.profile import ROW_HASH, row_hash, staged_profile
from finsight_assets.lib.wap.versions import current_versions, get_versions

NO_CHANGES = (0, 0, 0)


def published_checksums(
    warehouse: Warehouse, table_name: str, dates: Sequence[date]
) -> dict[date, str]:
    """The checksum recorded for the version of each partition published now."""
    current = current_versions(warehouse, table_name, dates)
    recorded = {
        version.version_id: version.checksum
        for version in get_versions(warehouse, sorted({v for v in current.values() if v}))
    }
    return {d: recorded[v] for d, v in current.items() if v in recorded}


def _row_changes(
    warehouse: Warehouse, staged: StagedPartitions, dates: Sequence[date]
) -> dict[date, tuple[int, int, int]]:
    """Per date: rows added, removed and changed, by key (whole rows where it has none)."""
    table = staged.table
    listed, date_params = bound(dates)
    # Both sides' row hashes are stored (`profile.py`): no row is hashed here, but a published
    # row without one (an interrupted Snowflake migration: `layout_migration.py`).
    stored = f"COALESCE({ROW_HASH}, {row_hash(warehouse, table)})"
    mine = (
        f"SELECT *, {ROW_HASH} AS row_hash FROM {staged.staging_table} "
        f"WHERE business_date IN ({listed})"
    )
    published = (
        f"SELECT *, {stored} AS row_hash FROM ({current_rows_sql(table)}) AS current_rows "
        f"WHERE business_date IN ({listed})"
    )
    if table.key is not None:
        join = " AND ".join(f"s.{column} = p.{column}" for column in table.key)
        first = table.key[-1]
        sql = (
            "SELECT COALESCE(s.business_date, p.business_date) AS business_date, "
            f"SUM(CASE WHEN p.{first} IS NULL THEN 1 ELSE 0 END), "
            f"SUM(CASE WHEN s.{first} IS NULL THEN 1 ELSE 0 END), "
            f"SUM(CASE WHEN s.{first} IS NOT NULL AND p.{first} IS NOT NULL "
            "AND s.row_hash <> p.row_hash THEN 1 ELSE 0 END) "
            f"FROM ({mine}) AS s FULL OUTER JOIN ({published}) AS p ON {join} GROUP BY 1"
        )
    else:
        sql = (
            "SELECT business_date, SUM(CASE WHEN n > 0 THEN n ELSE 0 END), "
            "SUM(CASE WHEN n < 0 THEN -n ELSE 0 END), 0 FROM ("
            "SELECT business_date, row_hash, SUM(side) AS n FROM ("
            f"SELECT business_date, row_hash, 1 AS side FROM ({mine}) AS st "
            f"UNION ALL SELECT business_date, row_hash, -1 AS side FROM ({published}) AS pub"
            ") AS sides GROUP BY business_date, row_hash) AS net GROUP BY business_date"
        )
    # The staged side's placeholders come first, then the published side's.
    return {
        row[0]: (int(row[1]), int(row[2]), int(row[3]))
        for row in warehouse.fetchall(sql, [*date_params, *date_params])
    }


def _published_days(
    warehouse: Warehouse, staged: StagedPartitions, dates: Sequence[date]
) -> dict[date, tuple[int, dict[str, Decimal]]]:
    """Per date with published rows: how many, and their money totals (one small aggregate)."""
    table = staged.table
    listed, params = bound(dates)
    sums = "".join(f", SUM({column})" for column in table.money_columns)
    return {
        row[0]: (
            int(row[1]),
            {
                column: value if value is not None else Decimal(0)
                for column, value in zip(table.money_columns, row[2:], strict=True)
            },
        )
        for row in warehouse.fetchall(
            f"SELECT business_date, COUNT(*){sums} FROM {table.qualified_name} "
            f"WHERE business_date IN ({listed}) GROUP BY 1",
            params,
        )
    }


def _texts(totals: Mapping[str, Decimal]) -> dict[str, str]:
    return {column: str(value) for column, value in totals.items()}


def diff_against_published(
    warehouse: Warehouse, staged: StagedPartitions, inputs: AuditInputs
) -> AuditOutcome:
    """Rows added, removed and changed by key against the published partition; change in totals.

    Evidence, not a gate: a backfill is expected to change rows.
    """
    table = staged.table
    profile = staged_profile(warehouse, staged)
    recorded = published_checksums(warehouse, table.qualified_name, staged.dates)
    differing = [d for d in staged.dates if recorded.get(d) != profile[d].checksum]
    published = _published_days(warehouse, staged, differing) if differing else {}
    # Against an empty partition every staged row is added: nothing to join either.
    joined = [d for d in differing if d in published]
    counts = _row_changes(warehouse, staged, joined) if joined else {}
    zero = {column: Decimal(0) for column in table.money_columns}
    before: dict[date, Mapping[str, Decimal]] = {}
    for d in staged.dates:
        if d not in differing:
            # The partition published now is this one: its totals are the staged ones.
            before[d] = profile[d].totals
        else:
            before[d] = published[d][1] if d in published else zero
            counts.setdefault(d, (profile[d].rows, 0, 0))
    per_date: dict[str, dict[str, Any]] = {}
    for d in staged.dates:
        added, removed, changed = counts.get(d, NO_CHANGES)
        old, new = before[d], profile[d].totals
        per_date[d.isoformat()] = {
            "added": added,
            "removed": removed,
            "changed": changed,
            "total_change": {column: str(new[column] - old[column]) for column in new},
            "total_before": _texts(old),
            "total_after": _texts(new),
        }
    added = sum(v["added"] for v in per_date.values())
    removed = sum(v["removed"] for v in per_date.values())
    changed = sum(v["changed"] for v in per_date.values())
    return AuditOutcome(
        passed=True,
        summary=f"{added} added, {removed} removed, {changed} changed",
        metadata={"added": added, "removed": removed, "changed": changed, "by_date": per_date},
    )
