"""What an asset needs to know about its run: identity, mode, clock and business dates."""

from __future__ import annotations

from datetime import UTC, date

import dagster as dg

from finsight_assets.lib.publish import BACKFILL, LIVE, MODES, RunInfo

MODE_TAG = "finsight/mode"
LANE_TAG = "finsight/lane"
BACKFILL_ID_TAG = "dagster/backfill"


def run_mode(tags: dict[str, str]) -> str:
    """LIVE, BACKFILL or DRY_RUN: the mode tag when set, else BACKFILL for backfill runs."""
    mode = tags.get(MODE_TAG)
    if mode is not None:
        if mode not in MODES:
            raise dg.Failure(f"run tag {MODE_TAG}={mode!r} is not one of {', '.join(MODES)}")
        return mode
    return BACKFILL if BACKFILL_ID_TAG in tags else LIVE


def run_info(context: dg.AssetExecutionContext) -> RunInfo:
    """The run's identity, with its clock taken from when the run was created (never now())."""
    record = context.instance.get_run_record_by_id(context.run.run_id)
    created = record.create_timestamp if record is not None else None
    if created is None:
        raise dg.Failure(f"run {context.run.run_id} has no record to take its clock from")
    clock = created if created.tzinfo else created.replace(tzinfo=UTC)
    return RunInfo(run_id=context.run.run_id, mode=run_mode(dict(context.run.tags)), clock=clock)


def business_dates(context: dg.AssetExecutionContext) -> list[date]:
    return [date.fromisoformat(key) for key in context.partition_keys]
