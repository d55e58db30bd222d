"""History kept within bounds: the rows of replaced versions are pruned once they were replaced
longer ago than the retention, except a version a rollback could still restore.

A rollback restores the version a current one replaced (`rollback.py`), and a backfill's
rollback the versions its own versions replaced, as long as one of them is current; a held
publish replaces only current versions. So a replaced version is kept while any current
version replaced it, or any backfill with a current version replaced it. Its record in
`audit.partition_versions` stays: the audit trail outlives the rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from finsight_assets.lib.engines.warehouse import Warehouse, bound
from finsight_assets.lib.tables.registry import TABLES
from finsight_assets.lib.wap import audit_schema
from finsight_assets.lib.wap.layout import history_table


@dataclass(frozen=True)
class Prunable:
    """A replaced version whose rows may go: which, and when it was replaced."""

    table_name: str
    business_date: date
    version_id: str
    replaced_at: datetime


def prunable(warehouse: Warehouse, replaced_before: datetime) -> list[Prunable]:
    """The replaced versions replaced before `replaced_before` that no rollback could need."""
    return [
        Prunable(t, d, v, at)
        for t, d, v, at in audit_schema.unneeded_replaced_versions(warehouse, replaced_before)
    ]


def prune(warehouse: Warehouse, versions: list[Prunable], at: datetime) -> dict[str, int]:
    """Delete the history rows of `versions` and record them as pruned at `at`, in one
    transaction; returns the rows deleted per table."""
    deleted: dict[str, int] = {}
    with warehouse.transaction():
        audit_schema.record_pruned(warehouse, [(v.version_id, v.table_name) for v in versions], at)
        for table in TABLES:
            ids = [v.version_id for v in versions if v.table_name == table.qualified_name]
            if not ids:
                continue
            placeholders, params = bound(ids)
            rows = f"FROM {history_table(table)} WHERE _version_id IN ({placeholders})"
            ((count,),) = warehouse.fetchall(f"SELECT COUNT(*) {rows}", params)
            warehouse.execute(f"DELETE {rows}", params)
            deleted[table.qualified_name] = int(count)
    return deleted
