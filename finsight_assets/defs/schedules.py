"""The daily lane: one partitioned job for all silver and gold assets, scheduled for yesterday."""

from __future__ import annotations

import dagster as dg

from finsight_assets.lib.contract.run_tags import DAILY_LANE, DAILY_PRIORITY, LANE_TAG, PRIORITY_TAG

DAILY_LANE_TAGS = {LANE_TAG: DAILY_LANE, PRIORITY_TAG: DAILY_PRIORITY}

DAILY_JOB_NAME = "daily_lakehouse"

daily_job = dg.define_asset_job(
    DAILY_JOB_NAME,
    selection=dg.AssetSelection.groups("silver", "gold", "exports"),
    description="Silver and gold for one business date, on the daily lane.",
    tags=DAILY_LANE_TAGS,
)


def build_daily_schedule(job) -> dg.ScheduleDefinition:
    """02:00 New York every day, for the business date that just ended."""
    return dg.build_schedule_from_partitioned_job(
        job,
        hour_of_day=2,
        minute_of_hour=0,
        tags=DAILY_LANE_TAGS,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        name="daily_lakehouse_schedule",
    )
