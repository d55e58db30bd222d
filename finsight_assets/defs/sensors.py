"""Sensors of the backfill lane: late data, manifests for UI backfills, failed backfill runs.

All run by default: nobody has to switch them on in the UI.
"""

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import dagster as dg
import duckdb

from finsight_assets.defs.resources.local import LakeResource, WarehouseResource
from finsight_assets.lib.backfills.late_data import (
    AUTOMATIC_PLANS_PER_INPUT,
    changed_inputs,
    manifest_state,
    published_inputs,
    to_replan,
)
from finsight_assets.lib.backfills.manifests import BackfillError
from finsight_assets.lib.backfills.operations import Backfills, open_backfills
from finsight_assets.lib.backfills.progress import TERMINAL_BACKFILL_STATES
from finsight_assets.lib.backfills.webserver import (
    DagsterApiError,
    WebserverUnavailable,
)
from finsight_assets.lib.contract.run_tags import MANIFEST_TAG, manifest_id_of, ui_manifest_id
from finsight_assets.lib.settings import Settings

SENSOR_INTERVAL_SECONDS = 15
INPUT_CHANGED = "input changed"
LAUNCHED_FROM_UI = "launched from the UI"


# A tick that finds the warehouse busy (a run is publishing) skips rather than waits: a sensor
# tick must end well within Dagster's evaluation timeout.
SENSOR_LOCK_ATTEMPTS = 5
WAREHOUSE_BUSY = "the warehouse is busy (a run holds it); next tick"


def _backfills(settings: Settings, lake: LakeResource, warehouse: WarehouseResource) -> Backfills:
    # Sensors act at the orchestration boundary: the wall clock is the tick's clock.
    return open_backfills(
        settings,
        lambda: datetime.now(UTC),
        lake=lake.get_lake(),
        connect=lambda: warehouse.connect(lock_attempts=SENSOR_LOCK_ATTEMPTS),
    )


def _running(context: dg.SensorEvaluationContext) -> Callable[[str], bool]:
    """Whether a Dagster backfill has not ended yet, from the instance."""

    def running(backfill_id: str) -> bool:
        backfill = context.instance.get_backfill(backfill_id)
        return backfill is not None and backfill.status.value not in TERMINAL_BACKFILL_STATES

    return running


def _launch_if_unattended(backfills: Backfills, manifest_id: str, log) -> None:
    """Launch a sensor's manifest that needs no approval; leave it planned otherwise."""
    if not backfills.store.is_approved(manifest_id):
        return
    try:
        backfill_id = backfills.launch(manifest_id)
        log.info(f"launched {manifest_id} as backfill {backfill_id}")
    except (WebserverUnavailable, DagsterApiError, BackfillError) as error:
        log.warning(f"{manifest_id} stays planned: {error}")


def _plan_ui_backfill(backfills: Backfills, backfill, manifest_id: str) -> None:
    """The manifest of a backfill launched from the UI, recorded as launched."""
    requested: dict[str, list[date]] = {}
    for item in backfill.asset_backfill_data.target_subset.iterate_asset_partitions():
        if item.partition_key is not None:
            requested.setdefault(item.asset_key.to_user_string().replace("/", "."), []).append(
                date.fromisoformat(item.partition_key)
            )
    backfills.plan(
        reason=LAUNCHED_FROM_UI,
        requested_by=backfill.tags.get("user", "dagster-ui"),
        requested_dates=requested,
        source="ui",
        manifest_id=manifest_id,
        dagster_backfill_id=backfill.backfill_id,
    )
    backfills.store.record(
        manifest_id,
        "launched",
        datetime.now(UTC),
        backfill_id=backfill.backfill_id,
        note="launched from the UI: approval matrix not applied",
    )


def build_sensors(settings: Settings) -> list:
    quiet = timedelta(seconds=settings.late_data_quiet_seconds)

    @dg.sensor(
        name="raw_input_changes",
        minimum_interval_seconds=SENSOR_INTERVAL_SECONDS,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Plans a backfill when a published day's raw files change (late or corrected "
        f"deliveries), once they have been quiet for {settings.late_data_quiet_seconds} s "
        "(FINSIGHT_LATE_DATA_QUIET_SECONDS); plans again a day whose backfill ended with the day "
        f"still off its raw input (up to {AUTOMATIC_PLANS_PER_INPUT} times per input); launches "
        "what needs no approval.",
    )
    def raw_input_changes(
        context: dg.SensorEvaluationContext, lake: LakeResource, warehouse: WarehouseResource
    ):
        backfills = _backfills(settings, lake, warehouse)
        now = datetime.now(UTC)
        try:
            with backfills.connect() as connection:
                published = published_inputs(connection)
            changed = changed_inputs(published, backfills.lake)
            dates = {d.isoformat() for ds in changed.values() for d in ds}
            manifests = backfills.store.list()
            candidates = [
                (m, manifest_state(backfills.store.events(m.id), _running(context)))
                for m in manifests
                if dates & set(m.input_versions)
            ]
            replan = to_replan(changed, candidates, backfills.lake, now, quiet)
            launched = backfills.store.launched()
            unlaunched = [m.id for m in manifests if m.source == "sensor" and m.id not in launched]
            for manifest_id in unlaunched:
                _launch_if_unattended(backfills, manifest_id, context.log)
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
        except duckdb.IOException:
            return dg.SkipReason(WAREHOUSE_BUSY)
        context.log.info(f"planned {manifest.id} for {replan.plan}")
        _launch_if_unattended(backfills, manifest.id, context.log)
        return dg.SkipReason(f"planned {manifest.id}")

    @dg.sensor(
        name="backfill_manifests",
        minimum_interval_seconds=SENSOR_INTERVAL_SECONDS,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Gives every backfill launched without a manifest (from the UI) its manifest.",
    )
    def backfill_manifests(
        context: dg.SensorEvaluationContext, lake: LakeResource, warehouse: WarehouseResource
    ):
        backfills = _backfills(settings, lake, warehouse)
        created = []
        try:
            for backfill in context.instance.get_backfills(limit=50):
                if MANIFEST_TAG in backfill.tags or backfill.asset_backfill_data is None:
                    continue
                manifest_id = ui_manifest_id(backfill.backfill_id)
                if backfills.store.exists(manifest_id):
                    continue
                try:
                    _plan_ui_backfill(backfills, backfill, manifest_id)
                except (BackfillError, ValueError) as error:
                    context.log.warning(f"no manifest for backfill {backfill.backfill_id}: {error}")
                    continue
                created.append(manifest_id)
        except duckdb.IOException:
            return dg.SkipReason(f"{WAREHOUSE_BUSY} (created {created})")
        return dg.SkipReason(f"created {created}" if created else "every backfill has a manifest")

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
        backfills = _backfills(settings, lake, warehouse)
        backfills.store.record(
            manifest_id,
            "run_failed",
            datetime.now(UTC),
            run_id=context.dagster_run.run_id,
            error=message[:2000],
        )
        context.log.warning(f"backfill {manifest_id}: run {context.dagster_run.run_id} failed")

    return [raw_input_changes, backfill_manifests, backfill_run_failures]
