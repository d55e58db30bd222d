"""Hold: audited candidate versions kept unpublished, with their evidence, until approved.

hold          a run of a backfill that needs approval keeps its audited partitions in the
              tables' held twins (`layout.held_table`) and records each in the audit schema
              (`held_versions`) with what it was computed from and the version it would
              replace; the published tables are untouched. A manifest's newer hold of a
              partition replaces its older one (a retry, a later run of a batched backfill).
publish_held  on approval: one transaction per publish unit (the tables a step publishes
              together), moving the held rows in as `publish` would, with no recompute. It
              refuses the partitions where what they were computed from changed meanwhile
              (the published version they replace, a raw input, the code, a source or chain
              predecessor partition) and names them; a balance chain publishes whole or not at
              all. Refused partitions are discarded: a retry recomputes and holds them again.
discard_held  on rejection: the held versions are dropped; nothing published changes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from finsight_assets.lib.contract.tables import LINEAGE_COLUMN_NAMES, TableSpec
from finsight_assets.lib.engines.warehouse import Warehouse, bound
from finsight_assets.lib.tables.registry import SELF_DEPENDENT, TABLES, TABLES_BY_NAME
from finsight_assets.lib.wap.audit_tables import HELD_PUBLISH_NOTE, HELD_VERSIONS
from finsight_assets.lib.wap.guards import locked_for_publish
from finsight_assets.lib.wap.held_versions import (
    HeldVersion,
    forget_held,
    held_versions,
    record_held,
)
from finsight_assets.lib.wap.layout import held_table
from finsight_assets.lib.wap.model import PartitionVersion, RunInfo, StagedPartitions
from finsight_assets.lib.wap.replace import replace_partitions
from finsight_assets.lib.wap.versions import current_versions

logger = logging.getLogger(__name__)

# The input version of a silver partition as its raw files are now (None for gold).
InputNow = Callable[[str, date], str | None]


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
    with warehouse.transaction():
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
            columns = ", ".join(staged.table.business_columns + LINEAGE_COLUMN_NAMES)
            warehouse.execute(
                f"INSERT INTO {held_table(staged.table)} ({columns}) "
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
        f"UNION ALL SELECT {names} FROM {held_table(table)} WHERE _version_id IN "
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
    if version_ids:
        listed, params = bound(sorted(version_ids))
        warehouse.execute(
            f"DELETE FROM {held_table(TABLES_BY_NAME[table_name])} WHERE _version_id IN ({listed})",
            params,
        )


@dataclass
class HeldPublish:
    """What publishing a manifest's held versions did."""

    published: list[PartitionVersion] = field(default_factory=list)
    # (table, date) -> why it was refused (and discarded): what to recompute.
    refused: dict[tuple[str, date], str] = field(default_factory=dict)


def _units(held: Sequence[HeldVersion]) -> list[tuple[str, list[HeldVersion]]]:
    """The held versions by publish unit, units in publish order (silver before gold)."""
    order = {table.qualified_name: i for i, table in enumerate(TABLES)}
    by_unit: dict[str, list[HeldVersion]] = {}
    for h in held:
        by_unit.setdefault(h.unit, []).append(h)
    return sorted(
        by_unit.items(), key=lambda item: min(order[h.version.table_name] for h in item[1])
    )


def _refusals(
    warehouse: Warehouse,
    unit: Sequence[HeldVersion],
    code_versions: Mapping[str, str],
    inputs_now: Mapping[tuple[str, date], str | None],
) -> dict[date, str]:
    """Inside the unit's transaction: the dates that cannot publish, with why."""
    refused: dict[date, str] = {}
    held_ids = {h.version.version_id for h in unit}
    dates = sorted({h.version.business_date for h in unit})
    # One query per source table, not per partition: a publish of 180 days stays seconds.
    sources_now = {
        source: current_versions(warehouse, source, dates)
        for source in sorted({source for h in unit for source in h.sources})
    }
    for name in sorted({h.version.table_name for h in unit}):
        mine = [h for h in unit if h.version.table_name == name]
        current = current_versions(warehouse, name)
        current_ids = set(current.values())
        for h in mine:
            v = h.version
            d = v.business_date
            if current.get(d) != v.replaced_version_id:
                refused[d] = (
                    f"{name} {d} was published by another run meanwhile (now "
                    f"{current.get(d)}, held against {v.replaced_version_id})"
                )
            elif code_versions.get(name) != v.code_version:
                refused[d] = f"{name} code changed ({v.code_version} -> {code_versions.get(name)})"
            elif inputs_now.get((name, d)) not in (None, v.input_version):
                refused[d] = f"the raw input of {name} {d} changed since it was computed"
            elif v.predecessor_version_id and not (
                v.predecessor_version_id in held_ids or v.predecessor_version_id in current_ids
            ):
                refused[d] = f"{name}: the day its chain opened from was republished meanwhile"
            else:
                for source, version in sorted(h.sources.items()):
                    if sources_now[source].get(d) != version:
                        refused[d] = f"{source} {d}, which {name} was computed from, changed"
                        break
        if name in SELF_DEPENDENT:
            latest = max(current) if current else None
            last_held = max(h.version.business_date for h in mine)
            if latest is not None and latest > last_held:
                refused.setdefault(
                    last_held,
                    f"{name} {latest} was published after the chain was held up to {last_held}",
                )
            if refused:
                first = min(refused)
                why = f"{refused[first]} ({first}); a balance chain publishes whole"
                refused = {h.version.business_date: why for h in mine}
    return refused


def publish_held(
    warehouse: Warehouse,
    manifest_id: str,
    run: RunInfo,
    code_versions: Mapping[str, str],
    input_now: InputNow,
) -> HeldPublish:
    """Publish the manifest's held versions, one transaction per publish unit; refuse (and
    discard) the partitions whose inputs moved, naming what to recompute."""
    outcome = HeldPublish()
    held = held_versions(warehouse, manifest_id)
    # Read before any lock: listing raw files can take a while; a delivery landing after this
    # point is the late-data sensor's to plan.
    inputs_now = {
        (h.version.table_name, h.version.business_date): input_now(
            h.version.table_name, h.version.business_date
        )
        for h in held
    }
    for unit_name, unit in _units(held):
        tables = sorted({h.version.table_name for h in unit})
        with locked_for_publish(warehouse, tables, (s for h in unit for s in h.sources), run):
            refused = _refusals(warehouse, unit, code_versions, inputs_now)
            going = [h for h in unit if h.version.business_date not in refused]
            for name in tables:
                versions = [
                    replace(h.version, published_at=run.clock)
                    for h in going
                    if h.version.table_name == name
                ]
                if not versions:
                    continue
                table = TABLES_BY_NAME[name]
                ids, id_params = bound([v.version_id for v in versions])
                rows = f"SELECT {{columns}} FROM {held_table(table)} WHERE _version_id IN ({ids})"
                replace_partitions(
                    warehouse,
                    table,
                    versions,
                    (rows, id_params),
                    note=HELD_PUBLISH_NOTE,
                    run_id=run.run_id,
                )
                outcome.published.extend(versions)
            _forget(warehouse, unit)
        for h in unit:
            if h.version.business_date in refused:
                outcome.refused[(h.version.table_name, h.version.business_date)] = refused[
                    h.version.business_date
                ]
        logger.info(
            "published %d held version(s) of %s, refused %d",
            len(going),
            unit_name,
            len(unit) - len(going),
        )
    return outcome


def _forget(warehouse: Warehouse, held: Sequence[HeldVersion]) -> None:
    """Drop held versions: their rows and their records."""
    for name in sorted({h.version.table_name for h in held}):
        ids = [h.version.version_id for h in held if h.version.table_name == name]
        _drop_rows(warehouse, name, ids)
    forget_held(warehouse, [h.version.version_id for h in held])


def discard_held(warehouse: Warehouse, manifest_id: str) -> list[HeldVersion]:
    """Drop every version the manifest holds, in one transaction; nothing published changes."""
    with warehouse.transaction():
        held = held_versions(warehouse, manifest_id)
        _forget(warehouse, held)
    return held
