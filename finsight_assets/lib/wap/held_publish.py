"""Publish held versions on approval: exactly the approved evidence, or nothing.

One transaction per publish unit (the tables a step publishes together), holding the unit's
and its sources' publish locks, verifying the held versions' rows (written once, when held, in
the versions tables) and swapping the partitions' current versions to them as `publish` would,
with no recompute and no row copied.

- What is held must be what was approved: before any unit, and again under each unit's locks
  (a hold takes the same locks, so none lands in between), the held records of the unit's
  tables are re-read and compared with the approved ones, and the held rows are counted and
  checksummed against them (`replace.version_differences`). Any difference refuses
  (HeldEvidenceChanged), naming the table, date and version; nothing of that unit changes.
- What each partition was computed from must not have moved: the partitions where it did (the
  published version they replace, a raw input, the code, a source or chain predecessor
  partition) are refused and named; a balance chain publishes whole or not at all. Refused
  partitions are discarded: a retry recomputes and holds them again.

Held versions of tables the approval does not cover are left held, for their own approval.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date

from finsight_assets.lib.engines.warehouse import Warehouse
from finsight_assets.lib.tables.registry import SELF_DEPENDENT, TABLES, TABLES_BY_NAME
from finsight_assets.lib.wap.audit_tables import HELD_PUBLISH_NOTE
from finsight_assets.lib.wap.guards import locked_for_publish
from finsight_assets.lib.wap.held_versions import (
    Evidence,
    HeldVersion,
    forget_held,
    held_versions,
)
from finsight_assets.lib.wap.hold import forget
from finsight_assets.lib.wap.layout import versions_table
from finsight_assets.lib.wap.model import PartitionVersion, PublishError, RunInfo
from finsight_assets.lib.wap.replace import replace_partitions, version_differences
from finsight_assets.lib.wap.versions import current_versions

logger = logging.getLogger(__name__)

# The input version of a silver partition as its raw files are now (None for gold).
InputNow = Callable[[str, date], str | None]


class HeldEvidenceChanged(PublishError):
    """What is held is not what was approved: a held version replaced, added, dropped or its
    rows or record changed since. Nothing of the unit it concerns was published."""


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


def evidence_differences(
    warehouse: Warehouse,
    held: Sequence[HeldVersion],
    approved: Collection[Evidence],
    tables: Collection[str],
) -> list[str]:
    """How what `tables` hold now differs from the approved versions of them: versions held
    since, approved ones gone, records edited, held rows not their recorded count and checksum."""
    now = {h.evidence: h for h in held if h.version.table_name in tables}
    expected = {e for e in approved if e[0] in tables}
    differences = [
        f"{e[0]} {e[1]}: approved version {e[2]} is not held as approved (now: "
        + (", ".join(sorted(o[2] for o in now if o[:2] == e[:2])) or "nothing")
        + ")"
        for e in sorted(expected - now.keys())
    ]
    differences += [
        f"{e[0]} {e[1]}: version {e[2]} is held and was not approved"
        for e in sorted(now.keys() - expected)
    ]
    for name in sorted(tables):
        table = TABLES_BY_NAME[name]
        mine = [h.version for e, h in now.items() if e in expected and e[0] == name]
        differences += version_differences(warehouse, table, mine, versions_table(table))
    return differences


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
                refused[d] = (
                    f"{name} {d} was computed by code version {v.code_version}, not the "
                    f"manifest's {code_versions.get(name)}"
                )
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
    approved: Collection[Evidence] | None = None,
) -> HeldPublish:
    """Publish the approved held versions (`HeldVersion.evidence`; None: what is held now),
    one transaction per publish unit; refuse (and discard) the partitions whose inputs moved,
    naming what to recompute. Raises HeldEvidenceChanged, publishing nothing, when what is
    held is not the approved versions, or when a unit's held versions changed by the time its
    locks were taken (the units before it stay published; `publish` finishes the rest)."""
    outcome = HeldPublish()
    held = held_versions(warehouse, manifest_id)
    expected = set(approved) if approved is not None else {h.evidence for h in held}
    approved_tables = {e[0] for e in expected}
    units = [
        (name, unit)
        for name, unit in _units(held)
        if any(h.version.table_name in approved_tables for h in unit)
    ]
    tables = approved_tables | {h.version.table_name for _, unit in units for h in unit}
    differences = evidence_differences(warehouse, held, expected, tables)
    if differences:
        raise HeldEvidenceChanged(
            f"{manifest_id}: what it holds is not the approved evidence, so nothing was "
            f"published: {'; '.join(differences)}"
        )
    # Read before any lock: listing raw files can take a while; a delivery landing after this
    # point is the late-data sensor's to plan.
    inputs_now = {
        (h.version.table_name, h.version.business_date): input_now(
            h.version.table_name, h.version.business_date
        )
        for _, unit in units
        for h in unit
    }
    for unit_name, read_before in units:
        names = sorted({h.version.table_name for h in read_before})
        sources = {s for h in read_before for s in h.sources}
        with locked_for_publish(warehouse, names, sources, run):
            now = held_versions(warehouse, manifest_id)
            unit = [h for h in now if h.version.table_name in names]
            differences = evidence_differences(warehouse, unit, expected, names)
            if differences:
                raise HeldEvidenceChanged(
                    f"{manifest_id}: what {unit_name} holds changed before it was published, "
                    f"so nothing of it was ({len(outcome.published)} version(s) of earlier "
                    f"units were): {'; '.join(differences)}"
                )
            refused = _refusals(warehouse, unit, code_versions, inputs_now)
            going = [h for h in unit if h.version.business_date not in refused]
            for name in names:
                versions = [
                    replace(h.version, published_at=run.clock)
                    for h in going
                    if h.version.table_name == name
                ]
                if not versions:
                    continue
                replace_partitions(
                    warehouse,
                    TABLES_BY_NAME[name],
                    versions,
                    None,
                    note=HELD_PUBLISH_NOTE,
                    run_id=run.run_id,
                )
                outcome.published.extend(versions)
            forget_held(warehouse, [h.version.version_id for h in going])
            forget(warehouse, [h for h in unit if h.version.business_date in refused])
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
