"""What an observation of one raw table reports, and recording it without a run.

`observe_table` reads the lake once: a materialization per landed day, an observation per gap,
a summary observation of the table and a warning per folder that gives no data. The
`observe_raw` job logs them in its run (`assets.py`); `report_raw` records them on the instance
directly, as `finsight materialize` does before its runs: the UI reads a run-less event of a
partition as it reads one logged in a run, and a separate Dagster run cost seconds per command.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

import dagster as dg

from finsight_assets.defs.data_version_tags import DATA_VERSION_TAG
from finsight_assets.defs.day_events import LatestDayEvents
from finsight_assets.lib.contract.tables import RAW_TABLES
from finsight_assets.lib.engines.lake import Lake
from finsight_assets.lib.layers.raw_files import (
    landed_days,
    landed_days_metadata,
    observed_versions,
)

logger = logging.getLogger(__name__)

DayEvent = dg.AssetMaterialization | dg.AssetObservation
# Picks, from every observed day's data version, the days to report.
DayFilter = Callable[[Mapping[str, str]], dict[str, str]]


@dataclass(frozen=True)
class TableObservation:
    """One raw table as observed: its (picked) days' events, its summary and its warnings."""

    table: str
    days: list[DayEvent]
    summary: dg.AssetObservation
    warnings: list[str]
    landed: int
    observed: int

    @property
    def note(self) -> str:
        return f"observed {self.observed} day(s) of raw/{self.table}, {self.landed} with files"


def raw_key(table: str) -> dg.AssetKey:
    return dg.AssetKey(["raw", table])


def observe_table(
    lake: Lake, table: str, keys: Sequence[str], report: DayFilter | None = None
) -> TableObservation:
    """Each landed day as a materialization (files, rows, data version), each gap before the
    latest delivery as an observation of the "no-data" version, and a summary of the table.
    `report` (day, version) picks the days to build events for; their footers alone are read."""
    asset_key = raw_key(table)
    landed = lake.raw_partitions(table)
    versions = observed_versions(landed, keys)
    picked = versions if report is None else report(versions)
    days = landed_days(lake, table, landed, picked)
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
    with_files = {key for key in versions if landed.get(date.fromisoformat(key))}
    events += [
        dg.AssetObservation(
            asset_key=asset_key,
            partition=key,
            description="no files landed for this day",
            metadata={"files": 0, "data_version": version},
            tags={DATA_VERSION_TAG: version},
        )
        for key, version in picked.items()
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
    return TableObservation(table, events, summary, warnings, len(with_files), len(versions))


def recorded_versions(
    instance: dg.DagsterInstance, table: str, days: Sequence[str]
) -> dict[str, str | None]:
    """Each day's data version as its newest raw event (landed or gap) says; None for a day
    without one."""
    if not days:
        return {}
    key = raw_key(table)
    latest = LatestDayEvents(instance, [(key, date.fromisoformat(day)) for day in days])
    recorded: dict[str, str | None] = {}
    for day in days:
        newest = latest.records[(key, date.fromisoformat(day))]
        recorded[day] = (newest.asset_event.tags or {}).get(DATA_VERSION_TAG) if newest else None
    return recorded


def changed_days(instance: dg.DagsterInstance, table: str) -> DayFilter:
    """The days whose version differs from what the instance last recorded (a gap's version is
    "no-data", never a landed day's): a day whose files did not change is not reported again."""

    def pick(versions: Mapping[str, str]) -> dict[str, str]:
        recorded = recorded_versions(instance, table, list(versions))
        return {day: v for day, v in versions.items() if recorded[day] != v}

    return pick


def report_raw(instance: dg.DagsterInstance, lake: Lake, keys: Sequence[str]) -> None:
    """Record every raw table's observation on the instance without a run: the days whose
    version changed, each table's summary; the warnings go to this process's log."""
    for table in RAW_TABLES:
        observed = observe_table(lake, table, keys, changed_days(instance, table))
        for event in [*observed.days, observed.summary]:
            instance.report_runless_asset_event(event)
        for warning in observed.warnings:
            logger.warning(warning)
        logger.info(observed.note)
