"""The daily business-date partitions (America/New_York), starting at FINSIGHT_START_DATE."""

from __future__ import annotations

from datetime import date

import dagster as dg

from finsight_assets.lib.contract.tables import BUSINESS_TIME_ZONE


def daily_partitions(start_date: date) -> dg.DailyPartitionsDefinition:
    return dg.DailyPartitionsDefinition(
        start_date=start_date.isoformat(), timezone=BUSINESS_TIME_ZONE, fmt="%Y-%m-%d"
    )


def backfill_policy(days_per_run: int | None) -> dg.BackfillPolicy:
    """A run computes its whole partition range at once: one Spark job, one transaction.

    The daemon splits a backfill into runs of `days_per_run` partitions when set.
    """
    if days_per_run is None:
        return dg.BackfillPolicy.single_run()
    return dg.BackfillPolicy.multi_run(max_partitions_per_run=days_per_run)


def chain_backfill_policy() -> dg.BackfillPolicy:
    """A balance chain's days in as few runs as the daemon allows, whatever the batching of the
    other assets: each run takes every day of the chain whose silver is published when the
    daemon looks (in `bench_orchestration`'s 45 days batched by 10, two runs, the first beside
    the last silver batches).

    Each day opens at the previous day's close, so batches of the chain could only run one after
    another, each a fresh run (process, code load) that the daemon launches up to 30 s after the
    last one ended. One set-based SQL statement computes a run's whole range instead.
    """
    return dg.BackfillPolicy.single_run()
