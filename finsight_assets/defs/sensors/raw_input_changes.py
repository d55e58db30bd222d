"""The late-data sensor: plans (and launches) a backfill when a published day's raw files
change."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import dagster as dg

from finsight_assets.defs.resources.local import LakeResource, WarehouseResource
from finsight_assets.defs.sensors.ticks import sensor_backfills, warehouse_sensor
from finsight_assets.lib.backfills.late_data import (
    AUTOMATIC_PLANS_PER_INPUT,
    changed_inputs,
    manifest_state,
    published_inputs,
    to_replan,
)
from finsight_assets.lib.backfills.manifests import BackfillError
from finsight_assets.lib.backfills.operations import Backfills
from finsight_assets.lib.backfills.progress import TERMINAL_BACKFILL_STATES
from finsight_assets.lib.engines.webserver import DagsterApiError, WebserverUnavailable
from finsight_assets.lib.settings import Settings

INPUT_CHANGED = "input changed"


def _running(context: dg.SensorEvaluationContext) -> Callable[[str], bool]:
    """Whether a Dagster backfill has not ended yet, from the instance."""

    def running(backfill_id: str) -> bool:
        backfill = context.instance.get_backfill(backfill_id)
        return backfill is not None and backfill.status.value not in TERMINAL_BACKFILL_STATES

    return running


def _launch(backfills: Backfills, manifest_id: str, log) -> None:
    """Launch a sensor's manifest (one that needs approval holds what it computes)."""
    try:
        backfill_id = backfills.launch(manifest_id)
        log.info(f"launched {manifest_id} as backfill {backfill_id}")
    except (WebserverUnavailable, DagsterApiError, BackfillError) as error:
        log.warning(f"{manifest_id} stays planned: {error}")


def build_raw_input_changes(settings: Settings) -> dg.SensorDefinition:
    quiet = timedelta(seconds=settings.late_data_quiet_seconds)

    @warehouse_sensor(
        "raw_input_changes",
        "Plans a backfill when a published day's raw files change (late or corrected "
        f"deliveries), once they have been quiet for {settings.late_data_quiet_seconds} s "
        "(FINSIGHT_LATE_DATA_QUIET_SECONDS); plans again a day whose backfill ended with the day "
        f"still off its raw input (up to {AUTOMATIC_PLANS_PER_INPUT} times per input); launches "
        "what it plans (what needs approval is held for it).",
    )
    def raw_input_changes(
        context: dg.SensorEvaluationContext, lake: LakeResource, warehouse: WarehouseResource
    ):
        backfills = sensor_backfills(settings, lake, warehouse)
        now = datetime.now(UTC)
        with backfills.read() as connection:
            published = published_inputs(connection)
        changed = changed_inputs(published, backfills.lake)
        dates = {d.isoformat() for ds in changed.values() for d in ds}
        manifests = backfills.store.list()
        candidates = [
            (
                m,
                manifest_state(
                    backfills.store.events(m.id),
                    _running(context),
                    holds=bool(backfills.held(m.id)),
                ),
            )
            for m in manifests
            if dates & set(m.input_versions)
        ]
        replan = to_replan(changed, candidates, backfills.lake, now, quiet)
        launched = backfills.store.launched()
        unlaunched = [m.id for m in manifests if m.source == "sensor" and m.id not in launched]
        for manifest_id in unlaunched:
            _launch(backfills, manifest_id, context.log)
        if replan.given_up:
            context.log.warning(
                f"raw input of {', '.join(map(str, replan.given_up))} changed and was "
                f"backfilled {AUTOMATIC_PLANS_PER_INPUT} times without the day taking it: "
                "see those backfills' runs, then plan by hand"
            )
        if not replan.plan:
            if replan.settling:
                return dg.SkipReason(
                    f"files still landing for {', '.join(map(str, replan.settling))}"
                )
            return dg.SkipReason("no published partition's raw input needs a backfill")
        manifest = backfills.plan(
            reason=INPUT_CHANGED,
            requested_by="sensor:raw_input_changes",
            requested_dates=replan.plan,
            source="sensor",
        )
        context.log.info(f"planned {manifest.id} for {replan.plan}")
        _launch(backfills, manifest.id, context.log)
        return dg.SkipReason(f"planned {manifest.id}")

    return raw_input_changes
