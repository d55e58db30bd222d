"""On one machine both lanes share the cores: a backfill run yields the CPU to a daily run."""

from __future__ import annotations

import os

from finsight_assets.lib.contract.run_tags import LANE_NICENESS


def yield_cpu_for_lane(lane: str) -> None:
    """Lower this run worker's CPU priority to its lane's niceness; the threads and processes it
    starts afterwards (DuckDB's, a Spark JVM) inherit it, and a second call changes nothing."""
    # Linux keeps a niceness per thread: the run's steps run on the thread that sets up resources.
    niceness = LANE_NICENESS[lane]
    if os.getpriority(os.PRIO_PROCESS, 0) < niceness:
        os.setpriority(os.PRIO_PROCESS, 0, niceness)
