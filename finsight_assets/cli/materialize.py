"""Materialize partition ranges in this process, as `dagster asset materialize` does, in batches.

Without a manifest the runs publish the daily lane's own day and days never published; their
assets refuse published history (`defs/backfill_scope.py`). With one, they run as its backfill.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta

import dagster as dg

from finsight_assets.cli.storage_hold import hold_sqlite_files
from finsight_assets.defs.build import build_definitions
from finsight_assets.defs.partitions import daily_partitions
from finsight_assets.defs.raw.report import report_raw
from finsight_assets.lib.contract.run_tags import RANGE_END_TAG, RANGE_START_TAG
from finsight_assets.lib.settings import REPOSITORY_ROOT, Settings

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class BatchOutcome:
    start: date
    end: date
    run_id: str
    success: bool
    errors: list[str]


def prepare_instance(settings: Settings) -> dg.DagsterInstance:
    """The Dagster instance under FINSIGHT_HOME, configured by the repository's dagster.yaml."""
    settings.dagster_home.mkdir(parents=True, exist_ok=True)
    config = REPOSITORY_ROOT / "dagster.yaml"
    target = settings.dagster_home / "dagster.yaml"
    if config.is_file() and not target.exists():
        shutil.copyfile(config, target)
    return dg.DagsterInstance.from_config(str(settings.dagster_home))


def manifest_tags(settings: Settings, manifest_id: str) -> dict[str, str]:
    """The run tags of a planned manifest (ManifestError, a ValueError, if there is none)."""
    from finsight_assets.defs.resources.environment import lake_and_warehouse
    from finsight_assets.lib.backfills.store import ManifestStore

    with lake_and_warehouse(settings) as (_, resource):
        return ManifestStore(resource.connect).get(manifest_id).run_tags()


def batches(start: date, end: date, days_per_run: int) -> Iterator[tuple[date, date]]:
    if end < start:
        raise ValueError(f"the range ends ({end}) before it starts ({start})")
    if days_per_run < 1:
        raise ValueError("days per run must be at least 1")
    current = start
    while current <= end:
        last = min(end, current + timedelta(days=days_per_run - 1))
        yield current, last
        current = last + timedelta(days=1)


def materialize_range(
    settings: Settings,
    start: date,
    end: date,
    *,
    days_per_run: int = 31,
    tags: dict[str, str] | None = None,
    log_level: str = "WARNING",
    on_batch: Callable[[BatchOutcome], None] | None = None,
) -> list[BatchOutcome]:
    """Materialize every silver and gold asset for [start, end], one run per batch of days,
    after recording the raw days that landed or changed (without a run: `defs/raw/report.py`).

    Stops at the first failed batch: later days would build on a balance chain that stopped.
    """
    if start < settings.start_date:
        raise ValueError(
            f"{start} is before the first business date {settings.start_date} (FINSIGHT_START_DATE)"
        )
    with hold_sqlite_files(settings.dagster_home):
        return _materialize_batches(
            settings, start, end, days_per_run, tags or {}, log_level, on_batch
        )


def _materialize_batches(
    settings: Settings,
    start: date,
    end: date,
    days_per_run: int,
    tags: dict[str, str],
    log_level: str,
    on_batch: Callable[[BatchOutcome], None] | None,
) -> list[BatchOutcome]:
    definitions = build_definitions(settings)
    instance = prepare_instance(settings)
    quiet = {"loggers": {"console": {"config": {"log_level": log_level}}}}
    with dg.build_resources({"lake": definitions.resources["lake"]}) as built:
        report_raw(
            instance,
            built.lake.get_lake(),
            daily_partitions(settings.start_date).get_partition_keys(),
        )
    outcomes = []
    for first, last in batches(start, end, days_per_run):
        result = dg.materialize(
            assets=list(definitions.assets or []),
            selection=dg.AssetSelection.groups("silver", "gold", "exports"),
            resources=definitions.resources,
            instance=instance,
            tags={
                **tags,
                RANGE_START_TAG: first.isoformat(),
                RANGE_END_TAG: last.isoformat(),
            },
            raise_on_error=False,
            run_config=quiet,
        )
        errors = [
            event.step_failure_data.error.message.strip()
            for event in result.all_events
            if event.is_step_failure and event.step_failure_data.error is not None
        ]
        outcome = BatchOutcome(first, last, result.run_id, result.success, errors)
        outcomes.append(outcome)
        if on_batch is not None:
            on_batch(outcome)
        if not result.success:
            break
    return outcomes
