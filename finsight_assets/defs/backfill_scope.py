"""What a run may do, decided where its tags enter, before it stages anything: the run tags
checked against the operations store (`lib/backfills/admission.py`), and whether the approval
matrix holds what it computes. A UI backfill has no manifest until the sensor writes one: its
runs are held to what the Dagster backfill requested, counted as the manifest will count it."""

from __future__ import annotations

import functools
from datetime import date, datetime

import dagster as dg

from finsight_assets.lib.backfills.admission import (
    RunRefused,
    refuse_manifest_run,
    refuse_restating,
    refuse_uncovered,
    refuse_without_manifest,
    restated_history,
)
from finsight_assets.lib.backfills.manifests import ManifestError
from finsight_assets.lib.backfills.matrix import approvals_for, neighbouring_scopes
from finsight_assets.lib.backfills.planning import scope
from finsight_assets.lib.backfills.store import ManifestStore
from finsight_assets.lib.contract.run_tags import (
    BACKFILL,
    BACKFILL_ID_TAG,
    LIVE,
    MANIFEST_TAG,
    SIDE_EFFECTS_TAG,
)
from finsight_assets.lib.engines.warehouse import Connect
from finsight_assets.lib.tables.registry import CODE_VERSIONS
from finsight_assets.lib.wap.versions import latest_published_dates


def name_of(key: dg.AssetKey) -> str:
    return key.to_user_string().replace("/", ".")


def requested_dates(backfill) -> dict[str, list[date]]:
    """Per asset (table name), the business dates a Dagster asset backfill targets."""
    requested: dict[str, list[date]] = {}
    for item in backfill.asset_backfill_data.target_subset.iterate_asset_partitions():
        if item.partition_key is not None:
            requested.setdefault(name_of(item.asset_key), []).append(
                date.fromisoformat(item.partition_key)
            )
    return requested


def step_partitions(context: dg.AssetExecutionContext) -> dict[str, list[date]]:
    """Per asset this step computes, the business dates it computes."""
    dates = [date.fromisoformat(key) for key in context.partition_keys]
    return {name_of(key): dates for key in context.selected_asset_keys}


def run_succeeded(instance: dg.DagsterInstance):
    """A test of whether a run of `instance` succeeded (what makes its published days history)."""

    @functools.cache
    def succeeded(run_id: str) -> bool:
        # A run this instance does not know is taken as finished: its versions are history.
        run = instance.get_run_by_id(run_id)
        return run is None or run.status == dg.DagsterRunStatus.SUCCESS

    return succeeded


def admit(
    context: dg.AssetExecutionContext,
    connect: Connect,
    clock: datetime,
    manifest_id: str | None,
    mode: str,
) -> bool:
    """Fail the run (dg.Failure, naming the tag and the manifest or partitions) unless its tags
    are what the operations store allows; then whether it holds what it computes."""
    tags = dict(context.run.tags)
    partitions = step_partitions(context)
    try:
        if manifest_id is None:
            refuse_without_manifest(mode, tags.get(SIDE_EFFECTS_TAG), None)
            if mode == LIVE:
                with connect() as warehouse:
                    history = restated_history(
                        warehouse,
                        partitions,
                        context.run.run_id,
                        clock,
                        run_succeeded(context.instance),
                    )
                refuse_restating(history, clock)
            return False
        store = ManifestStore(connect)
        if MANIFEST_TAG in tags or store.exists(manifest_id):
            try:
                manifest = store.get(manifest_id)
            except ManifestError as error:
                raise RunRefused(f"run tag {MANIFEST_TAG}={manifest_id}: {error}") from error
            refuse_manifest_run(
                manifest, mode, tags.get(SIDE_EFFECTS_TAG), partitions, CODE_VERSIONS
            )
            return mode == BACKFILL and manifest.approvals_required > 0
        return _admit_ui_backfill(context, store, connect, clock, manifest_id, mode)
    except RunRefused as error:
        raise dg.Failure(description=str(error)) from error


def _admit_ui_backfill(
    context: dg.AssetExecutionContext,
    store: ManifestStore,
    connect: Connect,
    clock: datetime,
    manifest_id: str,
    mode: str,
) -> bool:
    """A run of a UI backfill whose manifest the sensor has not written yet: held to what its
    backfill requested, and held for approval as the matrix will count that manifest."""
    tags = dict(context.run.tags)
    backfill_id = tags[BACKFILL_ID_TAG]
    refuse_without_manifest(mode, tags.get(SIDE_EFFECTS_TAG), backfill_id)
    backfill = context.instance.get_backfill(backfill_id)
    if backfill is None or backfill.asset_backfill_data is None:
        raise RunRefused(
            f"run tag {BACKFILL_ID_TAG}={backfill_id}: no such asset backfill in this instance"
        )
    dates = requested_dates(backfill)
    with connect() as warehouse:
        ranges = scope(list(dates), dates, latest_published_dates(warehouse))
    refuse_uncovered(
        f"run tag {BACKFILL_ID_TAG}={backfill_id}",
        f"backfill {backfill_id}",
        ranges,
        step_partitions(context),
    )
    return (
        mode == BACKFILL
        and approvals_for(ranges, neighbouring_scopes(store, clock, manifest_id)) > 0
    )
