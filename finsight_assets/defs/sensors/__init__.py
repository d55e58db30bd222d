"""The code location's sensors, one a module: late data (`raw_input_changes`), manifests for UI
backfills (`backfill_manifests`), failed backfill runs (`backfill_run_failures`), changes made
outside runs (`published_outside_runs`, partner files: `exports_outside_runs`), backfill
evidence (`backfill_evidence`) and, on the embedded default, orphaned runs (`orphaned_runs`).

All run by default: nobody has to switch them on in the UI.
"""

from __future__ import annotations

import dagster as dg

from finsight_assets.defs.sensors.backfill_cancellations import build_backfill_cancellations
from finsight_assets.defs.sensors.backfill_evidence import build_backfill_evidence
from finsight_assets.defs.sensors.backfill_manifests import build_backfill_manifests
from finsight_assets.defs.sensors.backfill_run_failures import build_backfill_run_failures
from finsight_assets.defs.sensors.exports_outside_runs import build_exports_outside_runs
from finsight_assets.defs.sensors.orphaned_runs import build_orphaned_runs_sensor
from finsight_assets.defs.sensors.published_outside_runs import build_published_outside_runs
from finsight_assets.defs.sensors.raw_input_changes import build_raw_input_changes
from finsight_assets.lib.settings import Settings


def build_sensors(settings: Settings) -> list[dg.SensorDefinition]:
    return [
        build_raw_input_changes(settings),
        build_backfill_manifests(settings),
        build_backfill_run_failures(settings),
        build_backfill_cancellations(settings),
        build_published_outside_runs(),
        build_exports_outside_runs(),
        build_backfill_evidence(settings),
        # Production's run launcher (ECS) monitors its run workers itself.
        *([build_orphaned_runs_sensor()] if settings.env == "local" else []),
    ]
