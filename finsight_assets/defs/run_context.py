"""What an asset needs to know about its run: identity, mode, clock and business dates."""

from __future__ import annotations

from datetime import UTC, date

import dagster as dg

from finsight_assets.defs.backfill_scope import admit
from finsight_assets.lib.contract.run_tags import (
    BACKFILL,
    BACKFILL_ID_TAG,
    BACKFILL_LANE,
    DAILY_LANE,
    LANE_TAG,
    LIVE,
    MANIFEST_TAG,
    MODE_TAG,
    MODES,
    SIDE_EFFECTS_TAG,
    manifest_id_of,
)
from finsight_assets.lib.engines.warehouse import Connect
from finsight_assets.lib.wap.model import RunInfo


def run_lane(tags: dict[str, str]) -> str:
    """The backfill lane for every backfill run (CLI, UI or sensor), else the daily lane."""
    if tags.get(LANE_TAG) == BACKFILL_LANE or BACKFILL_ID_TAG in tags:
        return BACKFILL_LANE
    return tags.get(LANE_TAG, DAILY_LANE)


def side_effects_allowed(tags: dict[str, str]) -> bool:
    """Side effects run in LIVE mode, or when the backfill's manifest allows them (`run_info`
    refused a run whose tags claim what its manifest does not allow)."""
    return run_mode(tags) == LIVE or tags.get(SIDE_EFFECTS_TAG) == "true"


def run_mode(tags: dict[str, str]) -> str:
    """LIVE, BACKFILL or DRY_RUN: the mode tag when set, else BACKFILL for the runs of a
    backfill or a manifest."""
    mode = tags.get(MODE_TAG)
    if mode is not None:
        if mode not in MODES:
            raise dg.Failure(f"run tag {MODE_TAG}={mode!r} is not one of {', '.join(MODES)}")
        return mode
    return BACKFILL if BACKFILL_ID_TAG in tags or tags.get(MANIFEST_TAG) else LIVE


def run_info(context: dg.AssetExecutionContext, connect: Connect) -> RunInfo:
    """The run's identity, with its clock taken from when the run was created (never now()),
    once its tags are admitted (`backfill_scope.admit`: the run fails here, before it stages
    anything, if they ask for what the operations store does not allow); a run of a backfill
    that needs approval holds what it computes (`connect` opens the warehouse holding its
    manifest)."""
    record = context.instance.get_run_record_by_id(context.run.run_id)
    created = record.create_timestamp if record is not None else None
    if created is None:
        raise dg.Failure(f"run {context.run.run_id} has no record to take its clock from")
    clock = created if created.tzinfo else created.replace(tzinfo=UTC)
    tags = dict(context.run.tags)
    try:
        manifest_id = manifest_id_of(tags)
    except ValueError as error:
        raise dg.Failure(str(error)) from error
    mode = run_mode(tags)
    hold = admit(context, connect, clock, manifest_id, mode)
    return RunInfo(
        run_id=context.run.run_id, mode=mode, clock=clock, manifest_id=manifest_id, hold=hold
    )


def business_dates(context: dg.AssetExecutionContext) -> list[date]:
    return [date.fromisoformat(key) for key in context.partition_keys]
