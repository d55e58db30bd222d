"""What an observation of one raw table reports, and recording it without a run.

`observe_table` reads the lake once: a materialization per landed day, an observation per gap,
a summary observation of the table and a warning per folder that gives no data. The
`observe_raw` job logs them in its run (`assets.py`); `report_raw` records them on the instance
directly, as `finsight materialize` does before its runs: the UI reads a run-less event of a
partition as it reads one logged in a run, and a separate Dagster run cost seconds per command.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import dagster as dg

from finsight_assets.defs.data_version_tags import DATA_VERSION_TAG
from finsight_assets.lib.contract.tables import RAW_TABLES
from finsight_assets.lib.engines.lake import Lake
from finsight_assets.lib.layers.raw_files import (
    landed_days,
    landed_days_metadata,
    observed_versions,
)

logger = logging.getLogger(__name__)

DayEvent = dg.AssetMaterialization | dg.AssetObservation


@dataclass(frozen=True)
class TableObservation:
    """One raw table as observed: its days' events, its summary and its warnings."""

    table: str
    days: list[DayEvent]
    summary: dg.AssetObservation
    warnings: list[str]
    landed: int

    @property
    def note(self) -> str:
        return f"observed {len(self.days)} day(s) of raw/{self.table}, {self.landed} with files"


def raw_key(table: str) -> dg.AssetKey:
    return dg.AssetKey(["raw", table])


def observe_table(lake: Lake, table: str, keys: Sequence[str]) -> TableObservation:
    """Each landed day as a materialization (files, rows, data version), each gap before the
    latest delivery as an observation of the "no-data" version, and a summary of the table."""
    asset_key = raw_key(table)
    landed = lake.raw_partitions(table)
    versions = observed_versions(landed, keys)
    days = landed_days(lake, table, landed, versions)
    events: list[DayEvent] = [
        dg.AssetMaterialization(
            asset_key=asset_key,
            partition=day.business_date.isoformat(),
            description=day.problem or "landed",
            metadata=day.metadata(),
            tags={DATA_VERSION_TAG: day.version},
        )
        for day in days
    ]
    with_files = {day.business_date.isoformat() for day in days}
    events += [
        dg.AssetObservation(
            asset_key=asset_key,
            partition=key,
            description="no files landed for this day",
            metadata={"files": 0, "data_version": version},
            tags={DATA_VERSION_TAG: version},
        )
        for key, version in versions.items()
        if key not in with_files
    ]
    unread = lake.unread_folders(table)
    summary = dg.AssetObservation(
        asset_key=asset_key,
        metadata={
            **landed_days_metadata(landed, versions),
            "folders_without_data": dg.MetadataValue.json(unread),
        },
    )
    warnings = [f"raw/{table}/{folder}: {why}" for folder, why in unread.items()]
    return TableObservation(table, events, summary, warnings, len(days))


def _latest_per_day(fetch, key: dg.AssetKey, days: Sequence[str]) -> dict[str, dg.EventLogRecord]:
    """The newest event of each day found among the table's latest `2 * len(days)` events of
    one kind (a day not among them is reported again, never wrongly left out)."""
    records = fetch(
        dg.AssetRecordsFilter(asset_key=key, asset_partitions=list(days)), limit=2 * len(days)
    ).records
    latest: dict[str, dg.EventLogRecord] = {}
    for record in records:  # newest first
        latest.setdefault(record.partition_key, record)
    return latest


def unrecorded(
    instance: dg.DagsterInstance, table: str, days: Sequence[DayEvent]
) -> list[DayEvent]:
    """The day events whose day's newest raw event does not already say the same data version
    (a gap's version is "no-data", never a landed day's): a day whose files did not change is
    not reported again."""
    if not days:
        return []
    keys = [event.partition for event in days]
    key = raw_key(table)
    landed = _latest_per_day(instance.fetch_materializations, key, keys)
    gaps = _latest_per_day(instance.fetch_observations, key, keys)
    missing = []
    for event in days:
        found = [r for r in (landed.get(event.partition), gaps.get(event.partition)) if r]
        newest = max(found, key=lambda r: r.storage_id) if found else None
        version = (newest.asset_event.tags or {}).get(DATA_VERSION_TAG) if newest else None
        if version != event.tags[DATA_VERSION_TAG]:
            missing.append(event)
    return missing


def report_raw(instance: dg.DagsterInstance, lake: Lake, keys: Sequence[str]) -> None:
    """Record every raw table's observation on the instance without a run: the days whose
    version changed, each table's summary; the warnings go to this process's log."""
    for table in RAW_TABLES:
        observed = observe_table(lake, table, keys)
        for event in [*unrecorded(instance, table, observed.days), observed.summary]:
            instance.report_runless_asset_event(event)
        for warning in observed.warnings:
            logger.warning(warning)
        logger.info(observed.note)
