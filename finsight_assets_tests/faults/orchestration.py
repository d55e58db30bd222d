"""The webserver and the daemon killed in the middle of a backfill, then started again: the
backfill finishes or is retried, and no partition is published twice.

    python -m finsight_assets_tests.faults.orchestration [--workdir DIR]

Prints what happened and one summary line; exits non-zero if an invariant broke.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from collections import Counter
from pathlib import Path

from finsight_assets.dev.stack import DagsterStack, start_stack, wait_for
from finsight_assets.lib.backfills.progress import TERMINAL_BACKFILL_STATES
from finsight_assets.lib.engines.duckdb_warehouse import DuckDBWarehouse, open_duckdb
from finsight_assets.lib.tables.registry import SELF_DEPENDENT
from finsight_assets_tests.faults import state
from finsight_assets_tests.faults.crash import run
from finsight_assets_tests.faults.operation import DAYS, FIRST, last_day

# The backfill: the last three days (no approval: the matrix counts the balance roll-forward
# too), one run per day, so the kill lands between runs.
BACKFILL = (last_day(DAYS - 2), last_day(DAYS))


def finsight(stack: DagsterStack, *args: str) -> dict:
    done = stack.finsight(*args, "--json")
    if done.returncode != 0:
        raise RuntimeError(f"finsight {' '.join(args)}: {done.stdout}{done.stderr}")
    return json.loads(done.stdout[done.stdout.index("{") :])


def manifest_publishes(home: Path, manifest_id: str) -> Counter:
    with open_duckdb(home / "warehouse.duckdb", read_only=True) as connection:
        rows = DuckDBWarehouse(connection).fetchall(
            "SELECT table_name, business_date FROM audit.partition_versions WHERE manifest_id = ?",
            [manifest_id],
        )
    return Counter((t, d.isoformat()) for t, d in rows)


def scenario(workdir: Path, emit=print) -> list[str]:
    home = workdir / "home"
    for step in ("setup", "materialize"):
        if run(step, home)[0] != 0:
            raise RuntimeError(f"{step} failed, see {workdir}/home-{step}.log")
    stack = start_stack(home, FIRST.isoformat(), days_per_run=1)
    problems: list[str] = []
    try:
        manifest = finsight(
            stack,
            "backfill",
            "plan",
            "--start",
            BACKFILL[0].isoformat(),
            "--end",
            BACKFILL[1].isoformat(),
            "--reason",
            "fault suite",
            "--requested-by",
            "faults",
        )
        manifest_id = manifest["id"]
        launched = finsight(stack, "backfill", "launch", manifest_id)
        backfill_id = launched["backfill_id"]
        wait_for(
            lambda: (
                any(r.status == "SUCCESS" for r in stack.webserver.backfill(backfill_id).runs)
                and any(r.status == "STARTED" for r in stack.webserver.backfill(backfill_id).runs)
            ),
            600,
            "one run done and one running",
            every=0.5,
        )
        stack.kill()
        emit(f"killed the webserver and the daemon mid-backfill {backfill_id} ({manifest_id})")
        time.sleep(1)
        stack = start_stack(home, FIRST.isoformat(), days_per_run=1)
        ended = wait_for(
            lambda: (
                (b := stack.webserver.backfill(backfill_id)).status in TERMINAL_BACKFILL_STATES
                and b
            ),
            900,
            "the backfill to end after the restart",
            every=3,
        )
        emit(f"after the restart the backfill ended {ended.status}")
        if ended.status != "COMPLETED_SUCCESS":
            retried = finsight(stack, "backfill", "retry", manifest_id)
            wait_for(
                lambda: (
                    stack.webserver.backfill(retried["backfill_id"]).status
                    in TERMINAL_BACKFILL_STATES
                ),
                900,
                "the retry to end",
                every=3,
            )
            emit(f"retried the rest as {retried['backfill_id']}")
        status = finsight(stack, "backfill", "status", manifest_id)
        emit(f"status: {status['status']}")
        if status["status"] != "published":
            problems.append(f"the backfill is {status['status']}, not published")
    finally:
        stack.stop()
    observed = state.observe(home)
    problems += observed.violations
    # The balance chain is republished from each recomputed day on, by design (every later day
    # depends on it): once per run of the backfill, killed or not. Every other table's
    # partition is published once.
    twice = {
        (t, d): n
        for (t, d), n in manifest_publishes(home, manifest_id).items()
        if n > 1 and t not in SELF_DEPENDENT
    }
    problems += [f"{t} {d} published {n} times by the backfill" for (t, d), n in twice.items()]
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="finsight-orchestration-"))
    problems = scenario(workdir)
    print(
        "orchestration killed mid-backfill: "
        + ("held" if not problems else "BROKEN: " + "; ".join(problems))
    )
    if problems:
        raise SystemExit(1)
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
