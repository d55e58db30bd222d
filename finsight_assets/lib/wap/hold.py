"""Hold: audited candidate versions kept unpublished, with their evidence, until approved.

hold          a run of a backfill that needs approval writes its audited partitions' rows once,
              into the tables' versions tables (`layout.versions_table`), as versions no
              partition points at, and records each in the audit schema
              (`held_versions`) with what it was computed from and the version it would
              replace; the published tables are untouched. A manifest's newer hold of a
              partition replaces its older one (a retry, a later run of a batched backfill).
              It holds the tables' publish locks, so a hold and a held publish of the same
              tables take turns (`held_publish.py` re-reads what is held under them). Approval
              verifies those rows and swaps the pointers: no row is copied again.
              A run of a cancelled manifest holds nothing: read under those locks, so a run
              that finishes after the cancel (a race) leaves nothing for `discard_held` to miss.
discard_held  on rejection or cancellation: the held versions' rows and records are deleted,
              under the same locks (now, not left to retention, which keeps only versions a
              rollback could restore: a discarded version never was current, nothing could
              restore it), and each day's discard is logged (`publish_history.log_discarded`);
              nothing published changes.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from finsight_assets.lib.backfills import events, store
from finsight_assets.lib.contract.run_tags import BACKFILL
from finsight_assets.lib.contract.tables import LINEAGE_COLUMN_NAMES, TableSpec
from finsight_assets.lib.engines.warehouse import Warehouse, bound
from finsight_assets.lib.tables.registry import TABLES_BY_NAME
from finsight_assets.lib.wap.audit_tables import CURRENT_VERSIONS, HELD_VERSIONS
from finsight_assets.lib.wap.guards import locked_transaction
from finsight_assets.lib.wap.held_versions import (
    HeldVersion,
    forget_held,
    held_versions,
    record_held,
)
from finsight_assets.lib.wap.layout import versions_table
from finsight_assets.lib.wap.model import PartitionVersion, RunInfo, StagedPartitions
from finsight_assets.lib.wap.profile import ROW_HASH
from finsight_assets.lib.wap.publish_history import DISCARDED_BY, log_discarded
from finsight_assets.lib.wap.versions import current_versions

logger = logging.getLogger(__name__)


def unit_of(staged_tables: Sequence[StagedPartitions]) -> str:
    """The publish unit's name: its tables, in the order they publish."""
    return "+".join(sorted(s.table.qualified_name for s in staged_tables))


def hold(
    warehouse: Warehouse,
    stats: Mapping[int, Mapping[date, tuple[int, str]]],
    *staged_tables: StagedPartitions,
) -> list[PartitionVersion]:
    """Keep the staged partitions as the run's manifest's held versions, in one transaction.

    `stats` gives per staged table (by id) each date's (rows, checksum)."""
    run = staged_tables[0].run
    if run.manifest_id is None:
        raise ValueError("only a backfill's run holds its partitions (no manifest id)")
    unit = unit_of(staged_tables)
    held: list[HeldVersion] = []
    with locked_transaction(warehouse, [s.table.qualified_name for s in staged_tables], run):
        if cancelled(warehouse, run.manifest_id):
            logger.warning("%s is cancelled: %s holds nothing", run.manifest_id, unit)
            return []
        for staged in staged_tables:
            name = staged.table.qualified_name
            replaced = current_versions(warehouse, name, staged.dates)
            older = [
                h.version.version_id
                for h in held_versions(warehouse, run.manifest_id, name)
                if h.version.business_date in staged.input_versions
            ]
            _drop_rows(warehouse, name, older)
            forget_held(warehouse, older)
            columns = ", ".join((*staged.table.business_columns, *LINEAGE_COLUMN_NAMES, ROW_HASH))
            warehouse.execute(
                f"INSERT INTO {versions_table(staged.table)} ({columns}) "
                f"SELECT {columns} FROM {staged.staging_table}"
            )
            for d in staged.dates:
                version = PartitionVersion(
                    version_id=staged.version_ids[d],
                    table_name=name,
                    business_date=d,
                    run_id=run.run_id,
                    code_version=staged.code_version,
                    input_version=staged.input_versions[d],
                    mode=run.mode,
                    row_count=stats[id(staged)][d][0],
                    checksum=stats[id(staged)][d][1],
                    published_at=run.clock,
                    replaced_version_id=replaced.get(d),
                    predecessor_version_id=staged.predecessor[1] if staged.predecessor else None,
                    manifest_id=run.manifest_id,
                )
                sources = {source: read[d] for source, read in staged.sources.items() if d in read}
                held.append(HeldVersion(version, unit, sources))
        record_held(warehouse, held)
    logger.info("held %d partition version(s) of %s for approval", len(held), unit)
    return [h.version for h in held]


def overlay(run: RunInfo, table: TableSpec) -> tuple[str, list[Any]] | None:
    """For a run that holds, a SELECT of `table` as its backfill's held versions would leave it
    (held rows where it holds a partition, published ones elsewhere), with its parameters;
    None for any other run, which reads the published table."""
    if not (run.hold and run.manifest_id):
        return None
    names = ", ".join(table.business_columns + LINEAGE_COLUMN_NAMES)
    held = f"SELECT {{column}} FROM {HELD_VERSIONS.name} WHERE table_name = ? AND manifest_id = ?"
    sql = (
        f"SELECT {names} FROM {table.qualified_name} WHERE business_date NOT IN "
        f"({held.format(column='business_date')}) "
        f"UNION ALL SELECT {names} FROM {versions_table(table)} WHERE _version_id IN "
        f"({held.format(column='version_id')})"
    )
    return sql, [table.qualified_name, run.manifest_id] * 2


def relation(run: RunInfo, table: TableSpec) -> tuple[str, list[Any]]:
    """What a run reads `table` from, for a FROM clause: the table, or its `overlay`."""
    held = overlay(run, table)
    if held is None:
        return table.qualified_name, []
    sql, params = held
    return f"({sql}) AS held_over_{table.schema}_{table.name}", params


def _drop_rows(warehouse: Warehouse, table_name: str, version_ids: Sequence[str]) -> None:
    """Delete held versions' rows; never a current version's (a held one published is)."""
    if version_ids:
        listed, params = bound(sorted(version_ids))
        warehouse.execute(
            f"DELETE FROM {versions_table(TABLES_BY_NAME[table_name])} "
            f"WHERE _version_id IN ({listed}) "
            f"AND _version_id NOT IN (SELECT version_id FROM {CURRENT_VERSIONS.name})",
            params,
        )


def forget(warehouse: Warehouse, held: Sequence[HeldVersion]) -> None:
    """Drop held versions never published: their rows and their records."""
    for name in sorted({h.version.table_name for h in held}):
        ids = [h.version.version_id for h in held if h.version.table_name == name]
        _drop_rows(warehouse, name, ids)
    forget_held(warehouse, [h.version.version_id for h in held])


def cancelled(warehouse: Warehouse, manifest_id: str) -> bool:
    """Whether the manifest's history records a cancellation (the operations store's)."""
    return bool(
        warehouse.fetchall(
            f"SELECT 1 FROM {store.EVENTS} WHERE manifest_id = ? AND event = ? LIMIT 1",
            [manifest_id, events.CANCELLED],
        )
    )


def discard_held(
    warehouse: Warehouse, manifest_id: str, at: datetime, why: str
) -> list[HeldVersion]:
    """Drop every version the manifest holds, in one transaction under the held tables' publish
    locks, logging each day's discard (`why`); nothing published changes."""
    names = sorted({h.version.table_name for h in held_versions(warehouse, manifest_id)})
    if not names:
        return []
    run = RunInfo(f"{DISCARDED_BY}{manifest_id}", BACKFILL, at, manifest_id)
    with locked_transaction(warehouse, names, run):
        held = held_versions(warehouse, manifest_id)
        forget(warehouse, held)
        log_discarded(warehouse, manifest_id, held, at, why)
    if held:
        logger.info("discarded %d held version(s) of %s: %s", len(held), manifest_id, why)
    return held
