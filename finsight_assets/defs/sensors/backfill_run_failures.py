"""Failed backfill runs, recorded in their manifest's events."""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg

from finsight_assets.defs.resources.local import LakeResource, WarehouseResource
from finsight_assets.defs.sensors.ticks import sensor_backfills
from finsight_assets.lib.backfills import events
from finsight_assets.lib.contract.run_tags import manifest_id_of
from finsight_assets.lib.settings import Settings


def build_backfill_run_failures(settings: Settings) -> dg.SensorDefinition:
    @dg.run_failure_sensor(
        name="backfill_run_failures",
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Records failed backfill runs in their manifest's events and the log.",
    )
    def backfill_run_failures(
        context: dg.RunFailureSensorContext, lake: LakeResource, warehouse: WarehouseResource
    ):
        try:
            manifest_id = manifest_id_of(context.dagster_run.tags)
        except ValueError as error:
            context.log.warning(f"run {context.dagster_run.run_id} failed: {error}")
            return
        if manifest_id is None:
            return
        message = context.failure_event.message or "run failed"
        backfills = sensor_backfills(settings, lake, warehouse)
        backfills.store.record(
            manifest_id,
            events.RUN_FAILED,
            datetime.now(UTC),
            run_id=context.dagster_run.run_id,
            error=message[:2000],
        )
        context.log.warning(f"backfill {manifest_id}: run {context.dagster_run.run_id} failed")

    return backfill_run_failures
