"""Orchestration cost of a 45-partition backfill run by the daemon against its pure compute
(the asset bodies' own time, measured in process): the project's batching
(FINSIGHT_BACKFILL_DAYS_PER_RUN=10), and with `--modes` also one run per partition and a single
run (left out of `make bench` for time). One run per partition is measured on the first
--per-partition-days partitions and scaled to --days (it is linear in runs). A backfill's wall
time ends when its data is published: every run over, every targeted partition materialized by
them, as the UI's API reads it; the daemon's mark of the backfill complete, at its next look,
is printed beside it. The balance chain (gold.account_daily_balance) runs its days in order, a
run each time the daemon finds more of its days' silver published.

    python -m benchmarks.bench_orchestration [--days 45] [--rows 100000] [--batch 10]
        [--modes batched,per_partition,single_run]
"""

from __future__ import annotations

import time
from datetime import date, timedelta
from pathlib import Path

import dagster as dg

from benchmarks.backfill_timeline import timeline
from benchmarks.common import (
    arguments,
    cached_lake,
    linked_copy,
    print_table,
    scratch,
    timed,
    write_result,
)
from finsight_assets.cli.materialize import materialize_range
from finsight_assets.dev.stack import start_stack, wait_for
from finsight_assets.lib.backfills.progress import TERMINAL_BACKFILL_STATES
from finsight_assets.lib.engines.duckdb_warehouse import DuckDBWarehouse, open_duckdb
from finsight_assets.lib.engines.webserver import (
    BackfillState,
    DagsterWebserver,
    PartitionRange,
)
from finsight_assets.lib.engines.webserver_answers import FINISHED_RUN_STATUSES
from finsight_assets.lib.settings import Settings
from finsight_assets.lib.tables.registry import ALL_ASSETS
from finsight_assets.lib.wap import estimates

FIRST = date(2025, 1, 1)
MODES = ("per_partition", "batched", "single_run")
# A batched backfill may cost at most this much more than its asset bodies alone.
TARGET_RATIO = 1.25


def step_seconds(home: Path) -> float:
    with open_duckdb(home / "warehouse.duckdb") as connection:
        return estimates.step_seconds(DuckDBWarehouse(connection))


def fresh_home(root: Path, name: str, lake: Path) -> Path:
    home = root / name
    linked_copy(lake, home / "lake")
    return home


def _published(webserver: DagsterWebserver, state: BackfillState, days: list[str]) -> bool:
    """Every run of the backfill finished and every targeted partition of every asset
    materialized by one of them, as the UI's API reads it: the data is published. (The daemon
    marks the backfill complete at its next look, up to 30 s later.)"""
    if not state.runs or any(run.status not in FINISHED_RUN_STATUSES for run in state.runs):
        return False
    ids = {run.run_id for run in state.runs}
    return all(
        all(by_day.get(day, set()) & ids for day in days)
        for by_day in (webserver.materializing_runs(a.split("."), days) for a in ALL_ASSETS)
    )


def step_failures(home: Path) -> list[str]:
    """The error of every failed step of the backfill's runs (a retried run may have succeeded)."""
    instance = dg.DagsterInstance.from_config(str(home / "dagster"))
    failed = instance.get_run_records(dg.RunsFilter(statuses=[dg.DagsterRunStatus.FAILURE]))
    return [
        f"{event.step_key}: {event.dagster_event.step_failure_data.error.message.strip()[:300]}"
        for record in failed
        for event in instance.all_logs(
            record.dagster_run.run_id, of_type=dg.DagsterEventType.STEP_FAILURE
        )
    ]


def daemon_backfill(home: Path, days: int, days_per_run: int | None) -> dict:
    stack = start_stack(home, FIRST.isoformat(), days_per_run)
    try:
        last = FIRST + timedelta(days=days - 1)
        ranges = [
            PartitionRange(a.split("."), FIRST.isoformat(), last.isoformat()) for a in ALL_ASSETS
        ]
        keys = [(FIRST + timedelta(days=n)).isoformat() for n in range(days)]
        started, launched = time.monotonic(), time.time()
        backfill_id = stack.webserver.launch_backfill(ranges, {}, "benchmark", "")

        def over() -> BackfillState | None:
            state = stack.webserver.backfill(backfill_id)
            ended = state.status in TERMINAL_BACKFILL_STATES
            return state if ended or _published(stack.webserver, state, keys) else None

        wait_for(over, 3600, "the benchmark backfill", every=1)
        wall, finished = time.monotonic() - started, time.time()
        state = wait_for(
            lambda: (
                (s := stack.webserver.backfill(backfill_id)).status in TERMINAL_BACKFILL_STATES
                and s
            ),
            120,
            "the daemon to mark the benchmark backfill complete",
            every=1,
        )
        marked = time.monotonic() - started
    finally:
        stack.stop()
    failed = sum(a.failed for a in state.assets)
    return {
        "wall_seconds": wall,
        "marked_complete_seconds": marked,
        "runs": len(state.runs),
        "status": f"{failed} partition(s) failed" if failed else "all materialized",
        "step_failures": step_failures(home),
        "step_seconds": step_seconds(home),
        "timeline": timeline(home, launched, finished),
    }


def main() -> None:
    parser = arguments(__doc__, rows=100_000, repeats=None)
    parser.add_argument("--days", type=int, default=45)
    parser.add_argument("--batch", type=int, default=10)
    parser.add_argument(
        "--per-partition-days",
        type=int,
        default=2,
        help="one run per partition costs about a minute a partition here: measure this many "
        "and scale to --days (a full 45 would take most of an hour)",
    )
    parser.add_argument(
        "--modes", default="batched", help=f"a comma list of {MODES} (batched is always run)"
    )
    args = parser.parse_args()
    modes = [m for m in MODES if m in {"batched", *args.modes.split(",")}]
    with scratch("orchestration") as root:
        lake = cached_lake(FIRST, FIRST + timedelta(days=args.days - 1), args.rows)
        pure_home = fresh_home(root, "pure", lake)
        settings = Settings(env="local", home=pure_home, start_date=FIRST)
        wall, _ = timed(
            lambda: materialize_range(
                settings, FIRST, FIRST + timedelta(days=args.days - 1), days_per_run=args.days
            )
        )
        pure = step_seconds(pure_home)
        results = {"pure_compute": {"wall_seconds": wall, "step_seconds": pure}}
        if "per_partition" in modes:
            sample = min(args.per_partition_days, args.days)
            measured = daemon_backfill(fresh_home(root, "per_partition", lake), sample, 1)
            scale = args.days / sample
            results["per_partition"] = {
                **measured,
                "measured_days": sample,
                "wall_seconds": measured["wall_seconds"] * scale,
                "marked_complete_seconds": measured["marked_complete_seconds"] * scale,
                "runs": round(measured["runs"] * scale),
                "status": f"{measured['status']} (x{scale:.1f} from {sample} partitions)",
            }
        for name, per_run in (("batched", args.batch), ("single_run", None)):
            if name in modes:
                results[name] = daemon_backfill(fresh_home(root, name, lake), args.days, per_run)
    rows = []
    for name in modes:
        r = results[name]
        rows.append(
            (
                name,
                r["runs"],
                r["wall_seconds"],
                r["wall_seconds"] / pure,
                (r["wall_seconds"] - pure) / args.days,
                r["marked_complete_seconds"],
                r["status"],
            )
        )
    print_table(
        f"{args.days}-partition backfill with the daemon ({args.rows:,} rows/day); pure compute "
        f"{pure:.1f}s (asset bodies, in process)",
        [
            "mode",
            "runs",
            "wall s (published)",
            "x pure compute",
            "overhead s/day",
            "marked complete s",
            "status",
        ],
        rows,
    )
    print_table(
        "Where each mode's wall time went (seconds, from its runs' records)",
        [
            "mode",
            "until the first run",
            "then no run (the daemon's next look)",
            "queued for a slot, sum",
            "worker start-up, sum",
            "running, sum",
        ],
        [
            (
                name,
                t["until_first_run_seconds"],
                t["between_runs_seconds"],
                sum(t["queued_seconds"]),
                sum(t["worker_start_seconds"]),
                sum(t["running_seconds"]),
            )
            # One run per partition is scaled from fewer days: its wall time is not split.
            for name in modes
            if name != "per_partition" and (t := results[name].get("timeline"))
        ],
    )
    print_table(
        "The batched backfill's runs (seconds after its launch)",
        ["assets", "days", "created", "launched", "started", "ended"],
        [
            (
                ", ".join(r["assets"]),
                r["days"],
                r["created"],
                r["launched"],
                r["started"],
                r["ended"],
            )
            for r in results["batched"]["timeline"]["runs"]
        ],
    )
    batched = results["batched"]["wall_seconds"]
    print(f"\ntarget: batched <= {TARGET_RATIO} x pure compute: {batched / pure:.2f} x")
    if "per_partition" in results:
        faster = results["per_partition"]["wall_seconds"] / batched
        print(f"target: batched >= 3 x faster than per partition: {faster:.2f} x")
    write_result(
        "orchestration",
        {"days": args.days, "rows_per_day": args.rows, "batch": args.batch, **results},
    )


if __name__ == "__main__":
    main()
