"""History within bounds: the rows of replaced versions are deleted from the versions tables
once they were replaced longer ago than the retention, except a version a rollback could make
current again. Current versions are never pruned, nor held ones (not replaced: they are not
published yet; a discarded one's rows go with its discard, `hold.discard_held`).

A rollback restores the version a current one replaced (`rollback.py`); a backfill's rollback
(`backfills/rollback.py`) restores the versions its own first versions replaced, with --force
whatever was published since, and once it has, another backfill's rollback may restore what
that one replaced in turn. So a replaced version is kept while a current version replaced it,
or while a version of a backfill not rolled back yet replaced it. Its record in
`audit.partition_versions` stays: the audit trail outlives the rows. A rollback whose version
is gone all the same (pruned by hand, or by an older release) refuses, naming it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from finsight_assets.lib.engines.warehouse import Warehouse, bind, bound
from finsight_assets.lib.tables.registry import TABLES
from finsight_assets.lib.wap.audit_tables import (
    CURRENT_VERSIONS,
    PARTITION_VERSIONS,
    PRUNED_VERSIONS,
    PUBLISH_LOG,
    insert_records,
)
from finsight_assets.lib.wap.layout import versions_table
from finsight_assets.lib.wap.model import PrunedVersion
from finsight_assets.lib.wap.versions import BACKFILL_ROLLBACK_RUN


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
    version of a backfill that has not been rolled back."""
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
        "WHERE v.replaced_version_id IS NOT NULL AND v.manifest_id IS NOT NULL "
        "AND v.manifest_id NOT IN ("
        f"SELECT m.manifest_id FROM {versions} AS m JOIN {PUBLISH_LOG.name} AS l "
        "ON l.run_id = CAST(? AS VARCHAR) || m.manifest_id "
        "WHERE m.manifest_id IS NOT NULL AND l.action = 'rollback')) "
        "GROUP BY old.table_name, old.business_date, old.version_id "
        f"HAVING MIN(new.published_at) < {cutoff} "
        "ORDER BY old.table_name, old.business_date, old.version_id",
        [BACKFILL_ROLLBACK_RUN, *params],
    )
    return [Prunable(t, d, v, at) for t, d, v, at in rows]


def pruned_at(warehouse: Warehouse, version_ids: Sequence[str]) -> dict[str, datetime]:
    """Of the given versions, those whose rows were pruned, with when."""
    if not version_ids:
        return {}
    listed, params = bound(sorted(set(version_ids)))
    rows = warehouse.fetchall(
        f"SELECT version_id, pruned_at FROM {PRUNED_VERSIONS.name} WHERE version_id IN ({listed})",
        params,
    )
    return {version: at for version, at in rows}


def prune(warehouse: Warehouse, versions: list[Prunable], at: datetime) -> dict[str, int]:
    """Delete the rows of `versions` from the versions tables and record them as pruned at
    `at`, in one transaction; returns the rows deleted per table. A version current again by
    now (rolled back to since it was listed) keeps its rows."""
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
            rows = (
                f"FROM {versions_table(table)} WHERE _version_id IN ({placeholders}) "
                f"AND _version_id NOT IN (SELECT version_id FROM {CURRENT_VERSIONS.name})"
            )
            deleted[table.qualified_name] = warehouse.count_changed(f"DELETE {rows}", params)
    return deleted
