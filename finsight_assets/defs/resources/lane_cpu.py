"""On one machine both lanes share the cores: a backfill run yields the CPU to a daily run."""

from __future__ import annotations

import os

from finsight_assets.lib.contract.run_tags import BACKFILL_LANE, DAILY_LANE

# A run's niceness by lane: the backfill lane's, as its Spark server's (spark_connect).
RUN_NICENESS = {DAILY_LANE: 0, BACKFILL_LANE: 10}


def yield_cpu_for_lane(lane: str) -> None:
    """Lower this run worker's CPU priority to its lane's niceness; the threads and processes it
    starts afterwards (DuckDB's, a Spark JVM) inherit it, and a second call changes nothing."""
    # Linux keeps a niceness per thread: the run's steps run on the thread that sets up resources.
    niceness = RUN_NICENESS[lane]
    if os.getpriority(os.PRIO_PROCESS, 0) < niceness:
        os.setpriority(os.PRIO_PROCESS, 0, niceness)
