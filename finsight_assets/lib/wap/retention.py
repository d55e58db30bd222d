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

from finsight_assets.lib.engines.warehouse import Warehouse, bind, bound
from finsight_assets.lib.tables.registry import TABLES
from finsight_assets.lib.wap.audit_tables import (
    CURRENT_VERSIONS,
    PARTITION_VERSIONS,
    PRUNED_VERSIONS,
    insert_records,
)
from finsight_assets.lib.wap.layout import history_table
from finsight_assets.lib.wap.model import PrunedVersion


@dataclass(frozen=True)
class Prunable:
    """A replaced version whose rows may go: which, and when it was replaced."""

    table_name: str
    business_date: date
    version_id: str
    replaced_at: datetime


def prunable(warehouse: Warehouse, replaced_before: datetime) -> list[Prunable]:
    """The replaced versions replaced before `replaced_before` that no rollback could need:
    not current, not pruned yet, not replaced by a current version, and not replaced by a
    version of a backfill that still has a current version."""
    cutoff, params = bind(replaced_before)
    versions, current = PARTITION_VERSIONS.name, CURRENT_VERSIONS.name
    rows = warehouse.fetchall(
        "SELECT old.table_name, old.business_date, old.version_id, MIN(new.published_at) "
        f"FROM {versions} AS new JOIN {versions} AS old "
        "ON old.version_id = new.replaced_version_id "
        f"WHERE old.version_id NOT IN (SELECT version_id FROM {current}) "
        f"AND old.version_id NOT IN (SELECT version_id FROM {PRUNED_VERSIONS.name}) "
        "AND old.version_id NOT IN ("
        f"SELECT v.replaced_version_id FROM {versions} AS v "
        f"JOIN {current} AS c ON c.version_id = v.version_id "
        "WHERE v.replaced_version_id IS NOT NULL) "
        "AND old.version_id NOT IN ("
        f"SELECT v.replaced_version_id FROM {versions} AS v "
        "WHERE v.replaced_version_id IS NOT NULL AND v.manifest_id IN ("
        f"SELECT m.manifest_id FROM {versions} AS m "
        f"JOIN {current} AS c ON c.version_id = m.version_id WHERE m.manifest_id IS NOT NULL)) "
        "GROUP BY old.table_name, old.business_date, old.version_id "
        f"HAVING MIN(new.published_at) < {cutoff} "
        "ORDER BY old.table_name, old.business_date, old.version_id",
        params,
    )
    return [Prunable(t, d, v, at) for t, d, v, at in rows]


def prune(warehouse: Warehouse, versions: list[Prunable], at: datetime) -> dict[str, int]:
    """Delete the history rows of `versions` and record them as pruned at `at`, in one
    transaction; returns the rows deleted per table."""
    deleted: dict[str, int] = {}
    with warehouse.transaction():
        insert_records(
            warehouse,
            PRUNED_VERSIONS,
            [PrunedVersion(v.version_id, v.table_name, at) for v in versions],
        )
        for table in TABLES:
            ids = [v.version_id for v in versions if v.table_name == table.qualified_name]
            if not ids:
                continue
            placeholders, params = bound(ids)
            rows = f"FROM {history_table(table)} WHERE _version_id IN ({placeholders})"
            deleted[table.qualified_name] = warehouse.count_changed(f"DELETE {rows}", params)
    return deleted
