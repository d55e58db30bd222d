"""Rollback: point the partitions back at the versions that publishes replaced, in one
transaction (a compare-and-swap of the current versions), and log it; no row is copied.

A version is restored only as it was recorded: its rows in the versions table are counted and
checksummed first (`replace.version_differences`), so a version whose rows were pruned by
retention or edited there is refused, by name, and nothing changes: a partition is never
pointed at missing rows."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import date

from finsight_assets.lib.contract.tables import TableSpec
from finsight_assets.lib.engines.warehouse import Warehouse
from finsight_assets.lib.wap import versions as recorded
from finsight_assets.lib.wap.guards import locked_transaction
from finsight_assets.lib.wap.layout import versions_table
from finsight_assets.lib.wap.model import PublishError, RunInfo
from finsight_assets.lib.wap.replace import VersionRowsDiffer, version_differences
from finsight_assets.lib.wap.retention import pruned_at

logger = logging.getLogger(__name__)


def rollback(
    warehouse: Warehouse,
    table: TableSpec,
    version_ids: Sequence[str],
    run: RunInfo,
    *,
    force: bool = False,
    note: str = "",
) -> dict[date, str | None]:
    """Restore, in one transaction, the version each given version replaced.

    Refuses (PublishError) when one of those partitions was republished since, unless `force`;
    returns the version now current per partition (None where the partition is now empty).
    """
    name = table.qualified_name
    versions = recorded.get_versions(warehouse, version_ids)
    missing = set(version_ids) - {v.version_id for v in versions}
    if missing:
        raise PublishError(f"{name}: unknown version id(s) {sorted(missing)}")
    if len({v.business_date for v in versions}) != len(versions):
        raise PublishError(f"{name}: give one version per partition to roll back")
    targets = {v.business_date: (v.version_id, v.replaced_version_id) for v in versions}
    with locked_transaction(warehouse, [name], run):
        return restore_in_transaction(warehouse, table, targets, run, force=force, note=note)


def restore_in_transaction(
    warehouse: Warehouse,
    table: TableSpec,
    targets: Mapping[date, tuple[str, str | None]],
    run: RunInfo,
    *,
    force: bool = False,
    note: str = "",
) -> dict[date, str | None]:
    """Per partition (expected current version, version to restore): restore, inside the
    caller's transaction (several tables restored atomically), which holds the table's publish
    lock (`guards.locked_transaction`).

    Restoring None empties the partition. Refuses when a partition's current version is not the
    expected one (republished since), unless `force`, and always when a version to restore is
    not in the versions table as recorded (VersionRowsDiffer).
    """
    name = table.qualified_name
    current = recorded.current_versions(warehouse, name, list(targets))
    moved = [d for d, (expected, _) in targets.items() if current.get(d) != expected]
    if moved and not force:
        described = ", ".join(f"{d} (now {current.get(d)})" for d in sorted(moved))
        raise PublishError(
            f"{name}: republished since, refusing to roll back (use force): {described}"
        )
    restored = {d: back for d, (_, back) in targets.items()}
    _check_restorable(warehouse, table, [v for v in restored.values() if v is not None])
    recorded.swap_current(
        warehouse, name, expected={d: current.get(d) for d in restored}, new=restored
    )
    recorded.log_changes(
        warehouse,
        name,
        "rollback",
        {d: (restored[d], current.get(d)) for d in restored},
        run.run_id,
        run.clock,
        note,
    )
    logger.info("rolled back %s for %d partition(s)", name, len(restored))
    return restored


def _check_restorable(warehouse: Warehouse, table: TableSpec, version_ids: Sequence[str]) -> None:
    """Refuse unless each version to restore has its recorded rows in the versions table."""
    history = versions_table(table)
    differences = version_differences(
        warehouse, table, recorded.get_versions(warehouse, version_ids), history
    )
    if not differences:
        return
    pruned = pruned_at(warehouse, version_ids)
    gone = [f"version {v} was pruned by retention at {at}" for v, at in sorted(pruned.items())]
    raise VersionRowsDiffer(
        f"{table.qualified_name}: refusing to roll back, a version to restore is not in "
        f"{history} as recorded: {'; '.join(differences + gone)}; nothing was rolled back"
    )
