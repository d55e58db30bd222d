"""The daily lane under load: while a 60-partition backfill fills the backfill lane (two runs at a
time; one run per partition unless --days-per-run says otherwise, `make dev` runs 10), how long
from submitting a daily run to its start. Each daily run is terminated once started, so that
the next is submitted under the same load.

    python -m benchmarks.bench_daily_lane [--rows 5000] [--repeats 3] [--days-per-run 1]
"""

from __future__ import annotations

import statistics
import time
from datetime import date, timedelta

import dagster as dg

from benchmarks.common import (
    arguments,
    cached_lake,
    linked_copy,
    print_table,
    scratch,
    write_result,
)
from finsight_assets.defs.schedules import DAILY_JOB_NAME, DAILY_LANE_TAGS
from finsight_assets.dev.stack import start_stack, wait_for
from finsight_assets.lib.contract.run_tags import (
    BACKFILL_LANE,
    BACKFILL_PRIORITY,
    LANE_TAG,
    PARTITION_TAG,
    PRIORITY_TAG,
)
from finsight_assets.lib.engines.webserver import PartitionRange
from finsight_assets.lib.engines.webserver_answers import FINISHED_RUN_STATUSES
from finsight_assets.lib.tables.registry import SILVER_AND_GOLD

FIRST = date(2025, 1, 1)
BACKFILL_DAYS = 60
TARGET_SECONDS = 10.0


# Where a daily run's start goes, from its own events between its submission and the moment the
# benchmark sees it started: the webserver creating the run until it is enqueued, queued until
# the coordinator launches it, its worker process loading the code until the run starts, and
# the webserver reporting the start.
PHASES = ("submitted s", "queued s", "worker start-up s", "reported s")
_PHASE_EVENTS = (
    dg.DagsterEventType.RUN_ENQUEUED,
    dg.DagsterEventType.RUN_STARTING,
    dg.DagsterEventType.RUN_START,
)


def run_phases(
    instance: dg.DagsterInstance, run_id: str, submitted: float, seen: float
) -> tuple[float, ...]:
    """The seconds from submission to the run's enqueued, starting and started events, and on
    to when it was seen started (`submitted` and `seen` are wall-clock timestamps)."""
    at = {
        event.dagster_event_type: event.timestamp
        for event in instance.all_logs(run_id)
        if event.dagster_event_type in _PHASE_EVENTS
    }
    moments = [submitted, *(at[event] for event in _PHASE_EVENTS), seen]
    return tuple(later - earlier for earlier, later in zip(moments, moments[1:], strict=False))


def main() -> None:
    parser = arguments(__doc__, rows=5_000)
    parser.add_argument("--days-per-run", type=int, default=1, help="the backfill's batching")
    args = parser.parse_args()
    delays: list[float] = []
    # Per daily run: its id, and when it was submitted and seen started (wall clock).
    moments: list[tuple[str, float, float]] = []
    with scratch("lane") as home:
        last = FIRST + timedelta(days=BACKFILL_DAYS + args.repeats)
        linked_copy(cached_lake(FIRST, last, args.rows), home / "lake")
        stack = start_stack(home, FIRST.isoformat(), args.days_per_run)
        try:
            backfill_id = stack.webserver.launch_backfill(
                [
                    PartitionRange(
                        a.split("."),
                        FIRST.isoformat(),
                        (FIRST + timedelta(days=BACKFILL_DAYS - 1)).isoformat(),
                    )
                    for a in SILVER_AND_GOLD
                ],
                {LANE_TAG: BACKFILL_LANE, PRIORITY_TAG: BACKFILL_PRIORITY},
                "lane benchmark",
                "",
            )
            wait_for(
                lambda: (
                    sum(r.status == "STARTED" for r in stack.webserver.backfill(backfill_id).runs)
                    >= 2
                ),
                600,
                "the backfill lane to fill",
                every=1,
            )
            for n in range(args.repeats):
                day = FIRST + timedelta(days=BACKFILL_DAYS + n)
                submitted_at = time.time()
                submitted = time.monotonic()
                run_id = stack.webserver.launch_run(
                    DAILY_JOB_NAME, {PARTITION_TAG: day.isoformat(), **DAILY_LANE_TAGS}
                )
                wait_for(
                    lambda run_id=run_id: (
                        stack.webserver.run(run_id).status
                        not in ("QUEUED", "NOT_STARTED", "STARTING")
                    ),
                    300,
                    "the daily run to start",
                    every=0.25,
                )
                delays.append(time.monotonic() - submitted)
                moments.append((run_id, submitted_at, time.time()))
                # Its start is what is measured: stop it, so the next one meets the same load.
                stack.webserver.terminate_run(run_id)
                wait_for(
                    lambda run_id=run_id: (
                        stack.webserver.run(run_id).status in FINISHED_RUN_STATUSES
                    ),
                    600,
                    "the daily run to stop",
                    every=1,
                )
            stack.webserver.cancel_backfill(backfill_id)
            instance = dg.DagsterInstance.from_config(str(home / "dagster"))
            phases = [run_phases(instance, *moment) for moment in moments]
        finally:
            stack.stop()
    median = statistics.median(delays)
    print_table(
        "Daily run start delay while a 60-partition backfill holds the backfill lane "
        f"({args.days_per_run} day(s) a run)",
        ["daily run", "seconds from submission to STARTED", *PHASES],
        [(i + 1, d, *p) for i, (d, p) in enumerate(zip(delays, phases, strict=True))]
        + [("median", median, *map(statistics.median, zip(*phases, strict=True)))],
    )
    print(
        f"\ntarget: within {TARGET_SECONDS:.0f} s; measured median {median:.1f} s "
        f"({'met' if median <= TARGET_SECONDS else 'NOT met'})"
    )
    write_result(
        "daily_lane",
        {
            "rows_per_day": args.rows,
            "days_per_run": args.days_per_run,
            "delays_seconds": delays,
            "median_seconds": median,
            "phases_median_seconds": dict(
                zip(PHASES, map(statistics.median, zip(*phases, strict=True)), strict=True)
            ),
        },
    )


if __name__ == "__main__":
    main()
