"""Cancel means cancel: a backfill cancelled in Dagster (the UI's cancel, or `finsight backfill
cancel`) has its manifest recorded cancelled, the manifest's other backfills cancelled, every
run of them still queued or in progress terminated, and once they have all ended, everything
the manifest holds discarded.

Dagster's daemon terminates the runs of a cancelled asset backfill itself; a run that finished
its hold before that, or a backfill of the same manifest launched on the backfill lane (the rest
of a UI backfill's scope), would otherwise leave held versions behind. From the recorded
cancellation on, a run of the manifest holds nothing (`hold.cancelled`); what was held before is
discarded here.
"""

from __future__ import annotations

import json

import dagster as dg

from finsight_assets.defs.resources.local import LakeResource, WarehouseResource
from finsight_assets.defs.sensors.backfill_manifests import UI_REQUESTER
from finsight_assets.defs.sensors.ticks import sensor_backfills, warehouse_sensor
from finsight_assets.lib.backfills.lifecycle import (
    CANCELLED_BACKFILL_STATES,
    discard_cancelled,
    record_cancelled,
)
from finsight_assets.lib.backfills.operations import Backfills
from finsight_assets.lib.backfills.progress import TERMINAL_BACKFILL_STATES
from finsight_assets.lib.contract.run_tags import BACKFILL_ID_TAG, MANIFEST_TAG, ui_manifest_id
from finsight_assets.lib.engines.webserver import DagsterApiError, WebserverUnavailable
from finsight_assets.lib.settings import Settings

# As often as Dagster's sensor daemon looks (every 5 s): a cancel stops a run that is still
# going, ahead of the backfill daemon's own pass (every 30 s).
CANCEL_INTERVAL_SECONDS = 5

UNFINISHED_RUNS = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]


def _cancel_the_rest(backfills: Backfills, backfill_ids: list[str], log) -> None:
    """Cancel the manifest's backfills Dagster still runs (through the webserver, as the UI)."""
    for backfill_id in backfill_ids:
        try:
            if backfills.webserver.backfill(backfill_id).status not in TERMINAL_BACKFILL_STATES:
                backfills.webserver.cancel_backfill(backfill_id)
        except (WebserverUnavailable, DagsterApiError) as error:
            log.warning(f"backfill {backfill_id} is not cancelled yet: {error}")


def _terminate_runs(instance: dg.DagsterInstance, backfill_ids: list[str]) -> int:
    """Terminate every run of the backfills still queued or in progress; how many have not
    ended yet."""
    unfinished = 0
    for backfill_id in backfill_ids:
        runs = instance.get_runs(
            dg.RunsFilter(tags={BACKFILL_ID_TAG: backfill_id}, statuses=UNFINISHED_RUNS)
        )
        for run in runs:
            if run.status != dg.DagsterRunStatus.CANCELING:
                instance.run_coordinator.cancel_run(run.run_id)
        unfinished += len(runs)
    return unfinished


def _settle(
    context: dg.SensorEvaluationContext, backfills: Backfills, manifest_id: str, backfill_id: str
) -> str | None:
    """One cancelled manifest a step further; what was done, None when nothing was left."""
    recorded = record_cancelled(backfills, manifest_id, backfill_id, UI_REQUESTER)
    ids = list(dict.fromkeys([*backfills.store.backfill_ids(manifest_id), backfill_id]))
    _cancel_the_rest(backfills, [i for i in ids if i != backfill_id], context.log)
    unfinished = _terminate_runs(context.instance, ids)
    if unfinished:
        return f"{manifest_id}: {unfinished} run(s) terminating"
    discarded = discard_cancelled(backfills, manifest_id)
    if discarded:
        context.log.info(f"{manifest_id} is cancelled: discarded {discarded} held version(s)")
        return f"{manifest_id}: discarded {discarded} held version(s)"
    return f"{manifest_id}: recorded cancelled" if recorded else None


def build_backfill_cancellations(settings: Settings) -> dg.SensorDefinition:
    @warehouse_sensor(
        "backfill_cancellations",
        "Makes a cancelled backfill's cancel a cancel: records its manifest cancelled, cancels "
        "the manifest's other backfills, terminates their queued and running runs, and once "
        "they have ended discards everything the manifest holds (nothing stays held).",
        interval=CANCEL_INTERVAL_SECONDS,
    )
    def backfill_cancellations(
        context: dg.SensorEvaluationContext, lake: LakeResource, warehouse: WarehouseResource
    ):
        # The cursor: the cancelled backfills already settled (their manifest holds nothing).
        settled = set(json.loads(context.cursor or "[]"))
        backfills = sensor_backfills(settings, lake, warehouse)
        cancelled: dict[str, str] = {}
        seen = []
        for backfill in context.instance.get_backfills(limit=50):
            if backfill.status.value not in CANCELLED_BACKFILL_STATES:
                continue
            seen.append(backfill.backfill_id)
            manifest_id = backfill.tags.get(MANIFEST_TAG) or ui_manifest_id(backfill.backfill_id)
            if backfill.backfill_id not in settled and backfills.store.exists(manifest_id):
                cancelled.setdefault(manifest_id, backfill.backfill_id)
        done = []
        for manifest_id, backfill_id in cancelled.items():
            step = _settle(context, backfills, manifest_id, backfill_id)
            if step:
                done.append(step)
            elif context.instance.get_backfill(backfill_id).status.value == "CANCELED":
                settled.add(backfill_id)
        context.update_cursor(json.dumps(sorted(settled & set(seen))))
        return dg.SkipReason("; ".join(done) if done else "no cancelled backfill holds anything")

    return backfill_cancellations
