"""One day of a silver or gold table as Dagster records it: its own materialization (rows,
version, lane, mode, manifest, state and data versions) and its `live` verdict. Runs and the
reports of publishes outside runs (`defs/report_outside_runs.py`) build them here alike."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import dagster as dg

from finsight_assets.defs.checks import LIVE_CHECK, target_of
from finsight_assets.defs.data_version_tags import (
    CODE_VERSION_TAG,
    DATA_VERSION_TAG,
    INPUT_DATA_VERSION_PREFIX,
    INPUT_EVENT_POINTER_PREFIX,
)
from finsight_assets.defs.keys import asset_key, key_of
from finsight_assets.lib.contract.tables import RAW_TABLES, TableSpec
from finsight_assets.lib.tables.registry import TABLES_BY_NAME, UPSTREAM
from finsight_assets.lib.wap.model import PartitionVersion

PUBLISHED = "published"
HELD = "held for approval"
NO_EVENT = "NULL"
# A raw table's day as the raw observation hashes it (`lib/layers/raw_files.data_version`).
RawVersion = Callable[[str, date], str]


@dataclass(frozen=True)
class DayState:
    """What a day of a table is after a run or a change outside runs: `version` is its
    materialization (published or held); `live` whether readers see it."""

    version: PartitionVersion
    lane: str
    state: str
    description: str
    live: bool
    live_description: str


def _latest(instance: dg.DagsterInstance, key: dg.AssetKey, day: date, observed: bool):
    records_filter = dg.AssetRecordsFilter(asset_key=key, asset_partitions=[day.isoformat()])
    fetch = instance.fetch_observations if observed else instance.fetch_materializations
    records = fetch(records_filter, limit=1).records
    return records[0] if records else None


def _is_raw(key: dg.AssetKey) -> bool:
    return key.path[0] == "raw" and key.path[-1] in RAW_TABLES


def _newest(*records):
    """A raw day's latest event: `observe_raw` reports a landed day as a materialization and a
    day without files as an observation."""
    found = [r for r in records if r is not None]
    return max(found, key=lambda r: r.storage_id) if found else None


def _latest_event(instance: dg.DagsterInstance, key: dg.AssetKey, day: date):
    if not _is_raw(key):
        return _latest(instance, key, day, observed=False)
    return _newest(_latest(instance, key, day, False), _latest(instance, key, day, True))


def _latest_by_day(
    instance: dg.DagsterInstance, key: dg.AssetKey, days: Sequence[date], observed: bool
) -> dict[date, dg.EventLogRecord | None]:
    """The newest event of each day, from one query of the newest `4 * len(days)` events of
    these days; when that many came back, a day not among them is looked up alone."""
    limit = 4 * len(days)
    fetch = instance.fetch_observations if observed else instance.fetch_materializations
    records = fetch(
        dg.AssetRecordsFilter(asset_key=key, asset_partitions=[d.isoformat() for d in days]),
        limit=limit,
    ).records
    latest: dict[date, dg.EventLogRecord | None] = {}
    for record in records:  # newest first
        latest.setdefault(date.fromisoformat(record.partition_key), record)
    for day in days:
        if day not in latest:
            latest[day] = _latest(instance, key, day, observed) if len(records) == limit else None
    return latest


class LatestDayEvents:
    """The latest event of each of the given (asset, day)s, fetched per asset at once (with its
    observations too for a raw one: a landed day is a materialization, a gap an observation)."""

    def __init__(self, instance: dg.DagsterInstance, parents: Sequence[tuple[dg.AssetKey, date]]):
        days_of: dict[dg.AssetKey, list[date]] = {}
        for key, day in parents:
            days_of.setdefault(key, []).append(day)
        self.records: dict[tuple[dg.AssetKey, date], dg.EventLogRecord | None] = {}
        for key, days in days_of.items():
            days = sorted(set(days))
            landed = _latest_by_day(instance, key, days, observed=False)
            seen = _latest_by_day(instance, key, days, observed=True) if _is_raw(key) else {}
            for day in days:
                self.records[(key, day)] = _newest(landed[day], seen.get(day))


def _input(
    instance: dg.DagsterInstance,
    key: dg.AssetKey,
    day: date,
    raw_version: RawVersion | None,
    known: LatestDayEvents | None = None,
) -> tuple[str, str] | None:
    """(data version, event pointer) of one upstream day: a raw day's version as `observe_raw`
    hashes it, a table's day as its latest materialization says."""
    if known is not None and (key, day) in known.records:
        record = known.records[(key, day)]
    else:
        record = _latest_event(instance, key, day)
    pointer = str(record.storage_id) if record is not None else NO_EVENT
    if _is_raw(key) and raw_version is not None:
        return raw_version(key.path[-1], day), pointer
    if record is None:
        return None
    return (record.asset_event.tags or {}).get(DATA_VERSION_TAG, ""), pointer


def input_tags(
    instance: dg.DagsterInstance,
    parents: Sequence[tuple[dg.AssetKey, date]],
    raw_version: RawVersion | None = None,
    known: LatestDayEvents | None = None,
) -> dict[str, str]:
    """Each upstream day's data version with a pointer to the event that recorded it (none for
    a day Dagster has no event of); `known` holds events fetched beforehand."""
    tags = {}
    for key, day in parents:
        found = _input(instance, key, day, raw_version, known)
        if found is not None:
            user_key = key.to_user_string()
            tags[f"{INPUT_DATA_VERSION_PREFIX}/{user_key}"] = found[0]
            tags[f"{INPUT_EVENT_POINTER_PREFIX}/{user_key}"] = found[1]
    return tags


def provenance_tags(
    instance: dg.DagsterInstance,
    table: TableSpec,
    version: PartitionVersion,
    raw_version: RawVersion | None = None,
    known: LatestDayEvents | None = None,
) -> dict[str, str]:
    """The day's data version (its version's checksum), the code version that computed it, and
    each upstream day's (`input_tags`), a self-dependent table's previous day among them."""
    parents = [(key_of(name), version.business_date) for name in UPSTREAM[table.qualified_name]]
    if TABLES_BY_NAME[table.qualified_name].self_dependent:
        parents.append((asset_key(table), version.business_date - timedelta(days=1)))
    return {
        DATA_VERSION_TAG: version.checksum,
        CODE_VERSION_TAG: version.code_version,
        **input_tags(instance, parents, raw_version, known),
    }


def day_materialization(
    instance: dg.DagsterInstance,
    table: TableSpec,
    day: DayState,
    raw_version: RawVersion | None = None,
    known: LatestDayEvents | None = None,
) -> dg.AssetMaterialization:
    """A day's own materialization: its rows, version, lane, mode, manifest and state, with its
    own data version and its inputs' versions."""
    version = day.version
    metadata = {
        "dagster/row_count": version.row_count,
        "version_id": version.version_id,
        "checksum": version.checksum,
        "computed_by_run": version.run_id,
        "lane": day.lane,
        "mode": version.mode,
        "state": day.state,
        "published": day.live,
        # The description, where the partition page shows it: held (and what is live
        # instead), or who published it.
        "status": day.description,
    }
    if version.manifest_id:
        metadata["manifest_id"] = version.manifest_id
    if version.replaced_version_id:
        metadata["replaced_version_id"] = version.replaced_version_id
    return dg.AssetMaterialization(
        asset_key=asset_key(table),
        partition=version.business_date.isoformat(),
        description=day.description,
        metadata=metadata,
        tags=provenance_tags(instance, table, version, raw_version, known),
    )


def day_materializations(
    instance: dg.DagsterInstance,
    table: TableSpec,
    days: Sequence[DayState],
    raw_version: RawVersion | None = None,
) -> Iterator[dg.AssetMaterialization]:
    """Each day's `day_materialization`, in order, its upstream tables' days fetched once for
    all; a self-dependent table's previous day is looked up as each day is built (it may be
    the day logged just before)."""
    parents = [
        (key_of(name), day.version.business_date)
        for day in days
        for name in UPSTREAM[table.qualified_name]
    ]
    known = LatestDayEvents(instance, parents)
    for day in days:
        yield day_materialization(instance, table, day, raw_version, known)


def live_evaluation(
    table: TableSpec,
    business_date: date,
    passed: bool,
    description: str,
    judged: dg.EventLogRecord | None,
) -> dg.AssetCheckEvaluation:
    """The `live` verdict on one day: passes when the rows readers see are the day's latest
    materialization, fails (warning) when it is held or nothing is live."""
    return dg.AssetCheckEvaluation(
        asset_key=asset_key(table),
        check_name=LIVE_CHECK,
        passed=passed,
        partition=business_date.isoformat(),
        target_materialization_data=target_of(judged) if judged is not None else None,
        severity=dg.AssetCheckSeverity.WARN,
        description=description,
        metadata={"live": passed},
    )


def held_state(version: PartitionVersion, lane: str, live: tuple[str, int] | None) -> DayState:
    """A day a run held for its backfill's approval; `live` is (version id, rows) of what
    readers see instead, if anything."""
    manifest = version.manifest_id or "its backfill"
    now_live = (
        f"the live rows are version {live[0]} ({live[1]:,} rows)"
        if live is not None
        else "nothing is live for this day"
    )
    return DayState(
        version=version,
        lane=lane,
        state=HELD,
        description=f"HELD for approval of {manifest} — not live ({now_live})",
        live=False,
        live_description=f"held for approval of {manifest}: not live; {now_live}",
    )


def published_state(version: PartitionVersion, lane: str, by: str) -> DayState:
    """A day whose rows readers now see; `by` says what published them."""
    return DayState(
        version=version,
        lane=lane,
        state=PUBLISHED,
        description=f"live: {by}",
        live=True,
        live_description=f"live: {by}",
    )
