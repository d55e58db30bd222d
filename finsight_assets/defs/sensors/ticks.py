"""What the sensors of the backfill lane share: how a tick opens the backfill operations, and
a tick skipped while the warehouse is busy."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import UTC, datetime

import dagster as dg

from finsight_assets.defs.resources.local import LakeResource, WarehouseResource
from finsight_assets.lib.backfills.operations import Backfills, open_backfills
from finsight_assets.lib.engines.warehouse import WarehouseUnavailable
from finsight_assets.lib.settings import Settings

SENSOR_INTERVAL_SECONDS = 15
# A tick that finds the warehouse busy (a run is publishing) skips rather than waits: a sensor
# tick must end well within Dagster's evaluation timeout.
SENSOR_LOCK_ATTEMPTS = 5
WAREHOUSE_BUSY = "the warehouse is busy (a run holds it); next tick"


def sensor_backfills(
    settings: Settings, lake: LakeResource, warehouse: WarehouseResource
) -> Backfills:
    """The backfill operations as a sensor tick uses them: they read through read-only
    connections and take the write lock only to write, and a busy warehouse is a skip."""
    # Sensors act at the orchestration boundary: the wall clock is the tick's clock.
    return open_backfills(
        settings,
        lambda: datetime.now(UTC),
        lake=lake.get_lake(),
        connect=lambda: warehouse.connect(lock_attempts=SENSOR_LOCK_ATTEMPTS),
        read=lambda: warehouse.connect(lock_attempts=SENSOR_LOCK_ATTEMPTS, read_only=True),
    )


def skips_while_warehouse_busy(tick):
    """The sensor tick, skipped when the warehouse is busy (see SENSOR_LOCK_ATTEMPTS)."""

    @functools.wraps(tick)
    def guarded(*args, **kwargs):
        try:
            return tick(*args, **kwargs)
        except WarehouseUnavailable:
            return dg.SkipReason(WAREHOUSE_BUSY)

    return guarded


def warehouse_sensor(
    name: str,
    description: str,
    interval: int = SENSOR_INTERVAL_SECONDS,
    job: dg.JobDefinition | None = None,
) -> Callable[[Callable], dg.SensorDefinition]:
    """A sensor that runs by default (nobody has to switch it on in the UI) every `interval`
    seconds, its tick skipped while the warehouse is busy; `job` is the job it requests runs
    of, if any."""

    def define(tick: Callable) -> dg.SensorDefinition:
        return dg.sensor(
            name=name,
            minimum_interval_seconds=interval,
            default_status=dg.DefaultSensorStatus.RUNNING,
            description=description,
            job=job,
        )(skips_while_warehouse_busy(tick))

    return define
