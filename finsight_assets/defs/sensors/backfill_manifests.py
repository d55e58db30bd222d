"""Manifests for backfills launched from the UI, and the rest of their scope once their
selection has computed."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

import dagster as dg

from finsight_assets.defs.backfill_scope import requested_dates
from finsight_assets.defs.resources.local import LakeResource, WarehouseResource
from finsight_assets.defs.sensors.ticks import sensor_backfills, warehouse_sensor
from finsight_assets.lib.backfills import events
from finsight_assets.lib.backfills.manifests import BackfillError, ManifestError
from finsight_assets.lib.backfills.operations import Backfills
from finsight_assets.lib.backfills.people import person_name
from finsight_assets.lib.backfills.progress import COMPLETED_BACKFILL_STATES
from finsight_assets.lib.contract.run_tags import MANIFEST_TAG, ui_manifest_id
from finsight_assets.lib.engines.webserver import DagsterApiError, WebserverUnavailable
from finsight_assets.lib.settings import Settings

LAUNCHED_FROM_UI = "launched from the UI"
# The requester of a UI backfill without a `user` tag.
UI_REQUESTER = "dagster-ui"


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


def ui_requester(tags: Mapping[str, str]) -> str:
    """Who a UI backfill says asked for it: its `user` tag, else `dagster-ui`. Open-source
    Dagster authenticates no one and anyone can set that tag, so it is recorded as a claim
    (`people.REQUESTER_UNAUTHENTICATED`), never as proof; a tag no person could be named
    (an invisible character in it) is kept visibly, escaped."""
    claimed = tags.get("user", UI_REQUESTER)
    try:
        return person_name(claimed)
    except ManifestError:
        return f"{claimed!r} (not a name)"


def _plan_ui_backfill(backfills: Backfills, backfill, manifest_id: str) -> None:
    """The manifest of a backfill launched from the UI, its requester unauthenticated,
    recorded as launched."""
    manifest = backfills.plan(
        reason=LAUNCHED_FROM_UI,
        requested_by=ui_requester(backfill.tags),
        requested_dates=requested_dates(backfill),
        source="ui",
        manifest_id=manifest_id,
        dagster_backfill_id=backfill.backfill_id,
        requester_authenticated=False,
    )
    backfills.store.record(
        manifest_id,
        events.LAUNCHED,
        datetime.now(UTC),
        by=manifest.requested_by,
        backfill_id=backfill.backfill_id,
    )


def build_backfill_manifests(settings: Settings) -> dg.SensorDefinition:
    @warehouse_sensor(
        "backfill_manifests",
        "Gives every backfill launched without a manifest (from the UI) its "
        "manifest, and once its selection has computed, launches the rest of that manifest's "
        "scope on the backfill lane (gold and exports after silver alone).",
    )
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

    return backfill_manifests
