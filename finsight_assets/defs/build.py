"""Assemble every asset, check, job, schedule and resource for one set of settings."""

from __future__ import annotations

import dagster as dg

from finsight_assets.defs.evidence import evidence_asset
from finsight_assets.defs.exports.assets import build_export_assets
from finsight_assets.defs.gold.assets import build_gold_assets
from finsight_assets.defs.partitions import backfill_policy, daily_partitions
from finsight_assets.defs.raw.assets import build_raw_assets, build_raw_observation_job
from finsight_assets.defs.resources.environment import resources_for
from finsight_assets.defs.schedules import build_daily_schedule, daily_job
from finsight_assets.defs.sensors import build_sensors
from finsight_assets.defs.silver.assets import build_silver_assets
from finsight_assets.lib.settings import Settings


def build_definitions(settings: Settings) -> dg.Definitions:
    partitions = daily_partitions(settings.start_date)
    policy = backfill_policy(settings.backfill_days_per_run)
    return dg.Definitions(
        assets=[
            *build_raw_assets(partitions),
            *build_silver_assets(partitions, policy),
            *build_gold_assets(partitions, policy, settings),
            *build_export_assets(partitions, policy),
            evidence_asset,
        ],
        jobs=[daily_job, build_raw_observation_job(partitions)],
        schedules=[build_daily_schedule(daily_job)],
        sensors=build_sensors(settings),
        resources=resources_for(settings),
        # Spark is the parallelism inside a step; steps run one after another in the run's
        # process, sharing one Spark session and never contending for the warehouse file.
        executor=dg.in_process_executor,
    )
