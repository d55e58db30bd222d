"""Sensors of the backfill lane: late data, manifests for UI backfills, failed backfill runs.

All run by default: nobody has to switch them on in the UI.
"""

import functools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import dagster as dg
import duckdb
import sqlalchemy.exc

from finsight_assets.defs.backfill_scope import requested_dates
from finsight_assets.defs.checks import recorded_evaluations
from finsight_assets.defs.keys import asset_key
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
from finsight_assets.lib.backfills.progress import (
    COMPLETED_BACKFILL_STATES,
    TERMINAL_BACKFILL_STATES,
)
from finsight_assets.lib.backfills.webserver import (
    DagsterApiError,
    WebserverUnavailable,
)
from finsight_assets.lib.contract.run_tags import MANIFEST_TAG, manifest_id_of, ui_manifest_id
from finsight_assets.lib.settings import Settings
from finsight_assets.lib.tables.registry import TABLES_BY_NAME
from finsight_assets.lib.wap import audit_schema

SENSOR_INTERVAL_SECONDS = 15
CHANGE_DESCRIPTIONS = {
    "publish": "held backfill version published on approval",
    "rollback": "restored by a rollback",
}
INPUT_CHANGED = "input changed"
LAUNCHED_FROM_UI = "launched from the UI"


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
        except duckdb.IOException:
            return dg.SkipReason(WAREHOUSE_BUSY)

    return guarded


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


def _complete(backfills: Backfills, manifest_id: str, log) -> str | None:
    """Launch the scope a UI backfill's selection left out (silver alone: gold and exports)."""
    try:
        backfill_id = backfills.complete(manifest_id)
    except (WebserverUnavailable, DagsterApiError, BackfillError) as error:
        log.warning(f"{manifest_id}: the rest of its scope is not launched: {error}")
        return None
    if backfill_id:
        log.info(f"{manifest_id}: launched the rest of its scope as backfill {backfill_id}")
    return backfill_id


def _plan_ui_backfill(backfills: Backfills, backfill, manifest_id: str) -> None:
    """The manifest of a backfill launched from the UI, recorded as launched."""
    backfills.plan(
        reason=LAUNCHED_FROM_UI,
        requested_by=backfill.tags.get("user", "dagster-ui"),
        requested_dates=requested_dates(backfill),
        source="ui",
        manifest_id=manifest_id,
        dagster_backfill_id=backfill.backfill_id,
    )
    backfills.store.record(
        manifest_id, "launched", datetime.now(UTC), backfill_id=backfill.backfill_id
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
        "what it plans (what needs approval is held for it).",
    )
    @skips_while_warehouse_busy
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

    @dg.sensor(
        name="backfill_manifests",
        minimum_interval_seconds=SENSOR_INTERVAL_SECONDS,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Gives every backfill launched without a manifest (from the UI) its "
        "manifest, and once its selection has computed, launches the rest of that manifest's "
        "scope on the backfill lane (gold and exports after silver alone).",
    )
    @skips_while_warehouse_busy
    def backfill_manifests(
        context: dg.SensorEvaluationContext, lake: LakeResource, warehouse: WarehouseResource
    ):
        backfills = sensor_backfills(settings, lake, warehouse)
        created, completing = [], []
        for backfill in context.instance.get_backfills(limit=50):
            if MANIFEST_TAG in backfill.tags or backfill.asset_backfill_data is None:
                continue
            manifest_id = ui_manifest_id(backfill.backfill_id)
            if not backfills.store.exists(manifest_id):
                try:
                    _plan_ui_backfill(backfills, backfill, manifest_id)
                except (BackfillError, ValueError) as error:
                    context.log.warning(f"no manifest for backfill {backfill.backfill_id}: {error}")
                    continue
                created.append(manifest_id)
            elif backfill.status.value in COMPLETED_BACKFILL_STATES:
                completion = _complete(backfills, manifest_id, context.log)
                if completion:
                    completing.append(manifest_id)
        if not (created or completing):
            return dg.SkipReason("every backfill has a manifest and its whole scope")
        return dg.SkipReason(f"created {created}; completing the scope of {completing}")

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
            "run_failed",
            datetime.now(UTC),
            run_id=context.dagster_run.run_id,
            error=message[:2000],
        )
        context.log.warning(f"backfill {manifest_id}: run {context.dagster_run.run_id} failed")

    @dg.sensor(
        name="published_outside_runs",
        minimum_interval_seconds=SENSOR_INTERVAL_SECONDS,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Reports each partition whose published rows changed outside a run (a held "
        "backfill published on approval, a rollback) as that partition's latest "
        "materialization, with its own row count and its audits' verdicts.",
    )
    @skips_while_warehouse_busy
    def published_outside_runs(context: dg.SensorEvaluationContext, warehouse: WarehouseResource):
        after = int(context.cursor or 0)
        with warehouse.connect(lock_attempts=SENSOR_LOCK_ATTEMPTS, read_only=True) as connection:
            changes, last = audit_schema.unreported_changes(connection, after)
            records = audit_schema.checks_of_runs(connection, {c.run_id for c in changes})
        for change in changes:
            report_change(context.instance, change, records, context.log)
        context.update_cursor(str(last))
        return dg.SkipReason(f"reported {len(changes)} change(s)" if changes else "no change")

    return [raw_input_changes, backfill_manifests, backfill_run_failures, published_outside_runs]


def report_change(
    instance: dg.DagsterInstance,
    change: audit_schema.UnreportedChange,
    records: list[audit_schema.CheckRecord],
    log,
) -> None:
    """One partition's change as its latest materialization (its audits' verdicts in its
    metadata), then those verdicts as check evaluations judging it."""
    table = TABLES_BY_NAME[change.table_name]
    partition = change.business_date.isoformat()
    mine = [
        r
        for r in records
        if r.run_id == change.run_id
        and r.table_name == change.table_name
        and r.business_date == change.business_date
    ]
    instance.report_runless_asset_event(
        dg.AssetMaterialization(
            asset_key=asset_key(table),
            partition=partition,
            description=CHANGE_DESCRIPTIONS[change.action],
            metadata={
                "dagster/row_count": change.row_count,
                "version_id": change.version_id,
                "computed_by_run": change.run_id,
                "checks": dg.MetadataValue.json(
                    {r.check_name: "passed" if r.passed else "failed" for r in mine}
                ),
            },
        )
    )
    judged = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=asset_key(table), asset_partitions=[partition]), limit=1
    ).records[0]
    for evaluation in recorded_evaluations(table, mine, judged):
        try:
            instance.report_runless_asset_event(evaluation)
        except sqlalchemy.exc.IntegrityError:
            # Dagster keeps one run-less evaluation per check and partition; the verdict is in
            # the materialization's metadata and in audit.check_results.
            log.warning(
                f"{change.table_name} {partition} {evaluation.check_name}: Dagster already "
                "holds a run-less verdict for this partition; this one is in the metadata"
            )
