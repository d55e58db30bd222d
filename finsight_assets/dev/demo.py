"""`make demo`: the daily load, then a corrected re-delivery backfilled on its own lane.

The story: 60 days land and are materialized; upstream re-delivers corrected files for a week
of history; the late-data sensor scopes and launches the backfill on the backfill lane while the
daily run for yesterday goes first; a week needs an approval, so the backfill computes, audits
and holds; a reviewer approves its evidence and the held versions publish in seconds; the
evidence report is written; the backfill is rolled back.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal

from rich.console import Console

from finsight_assets.cli.materialize import materialize_range
from finsight_assets.dev.stack import DagsterStack, start_stack, wait_for
from finsight_assets.dev.synthetic import generate_raw, redeliver_corrections
from finsight_assets.lib.backfills import events
from finsight_assets.lib.backfills.operations import open_backfills
from finsight_assets.lib.backfills.progress import TERMINAL_BACKFILL_STATES
from finsight_assets.lib.backfills.store import MANIFESTS
from finsight_assets.lib.engines.duckdb_warehouse import DuckDBWarehouse, open_duckdb
from finsight_assets.lib.settings import Settings

# A week: the approval matrix asks one approval (lib/backfills/manifests.py).
CORRECTED_DAYS = 7
REVIEWER = "demo-reviewer"
DEMO_DAYS_PER_RUN = 10
# The demo's deliveries land at once; a short quiet period keeps the story moving.
DEMO_LATE_DATA_QUIET_SECONDS = 15


def run_demo(
    settings: Settings,
    first: date,
    last: date,
    rows_per_day: int,
    console: Console,
    clock: Callable,
) -> None:
    settings = dataclasses.replace(settings, start_date=first)
    (settings.home / "demo_start_date").parent.mkdir(parents=True, exist_ok=True)
    (settings.home / "demo_start_date").write_text(first.isoformat() + "\n")
    console.rule(f"1. {(last - first).days + 1} days of raw data, {first} .. {last}")
    summary = generate_raw(settings.lake, first, last, rows_per_day=rows_per_day)
    console.print(f"{summary.total_transactions:,} raw transactions under {settings.lake}")

    console.rule("2. the daily load (in process), up to the day before yesterday")
    for outcome in materialize_range(settings, first, last - timedelta(days=1)):
        console.print(f"{outcome.start} .. {outcome.end}: {'ok' if outcome.success else 'FAILED'}")
        if not outcome.success:
            raise SystemExit("\n".join(outcome.errors))

    console.rule("3. webserver and daemon on 127.0.0.1 (sensors on by default)")
    stack = start_stack(
        settings.home, first.isoformat(), DEMO_DAYS_PER_RUN, DEMO_LATE_DATA_QUIET_SECONDS
    )
    console.print(f"Dagster UI: {stack.url}")
    try:
        _story(settings, stack, first, last, console, clock)
    finally:
        stack.stop()


def _silver_total(settings: Settings, d: date) -> Decimal:
    with open_duckdb(settings.warehouse_path) as connection:
        return DuckDBWarehouse(connection).fetchall(
            "SELECT SUM(amount) FROM silver.transactions WHERE business_date = CAST(? AS DATE)",
            [d.isoformat()],
        )[0][0]


def _story(settings, stack: DagsterStack, first, last, console: Console, clock) -> None:
    backfills = open_backfills(dataclasses.replace(settings, webserver_url=stack.url), clock)
    store = backfills.store
    corrected = [first + timedelta(days=30 + i) for i in range(CORRECTED_DAYS)]
    before = _silver_total(settings, corrected[0])

    console.rule("4. upstream re-delivers corrected files for part of the history")
    redeliver_corrections(settings.lake, corrected, Decimal("1.00"))
    console.print(
        f"corrected deliveries for {corrected[0]} .. {corrected[-1]}; the late-data sensor "
        f"plans once they have been quiet for {DEMO_LATE_DATA_QUIET_SECONDS} s"
    )
    manifest = wait_for(
        lambda: next((m for m in store.list() if m.reason == "input changed"), None),
        180,
        "the late-data sensor to plan the backfill",
    )
    console.print(
        f"sensor planned {manifest.id}: {manifest.requested_days} day(s) requested, "
        f"{len(manifest.ranges)} asset range(s), approvals needed: {manifest.approvals_required}"
    )
    backfill_id = wait_for(lambda: store.backfill_ids(manifest.id), 180, "the launch")[0]
    console.print(f"launched on the backfill lane as Dagster backfill {backfill_id}")

    console.rule("5. the daily run for yesterday goes first")
    wait_for(
        lambda: any(r.status == "STARTED" for r in stack.webserver.backfill(backfill_id).runs),
        300,
        "a backfill run to start",
    )
    submitted = time.monotonic()
    done = stack.finsight("run-daily", "--date", last.isoformat())
    run_id = done.stdout.split()[3]
    wait_for(
        lambda: stack.webserver.run(run_id).status not in ("QUEUED", "NOT_STARTED"),
        120,
        "the daily run to start",
    )
    console.print(
        f"daily run {run_id} started {time.monotonic() - submitted:.1f}s after submission, "
        f"while the backfill is {stack.webserver.backfill(backfill_id).status}"
    )
    wait_for(
        lambda: stack.webserver.backfill(backfill_id).status in TERMINAL_BACKFILL_STATES,
        900,
        "the backfill",
        every=3,
    )
    wait_for(
        lambda: stack.webserver.run(run_id).status in ("SUCCESS", "FAILURE"), 600, "the daily run"
    )
    daily = stack.webserver.run(run_id).status
    console.print(f"daily run: {daily}; backfill: {stack.webserver.backfill(backfill_id).status}")
    if daily != "SUCCESS":
        console.print("the daily run refused to publish on a balance chain that moved; again:")
        stack.finsight("run-daily", "--date", last.isoformat())
    if backfills.failed_ranges(manifest.id):
        console.print("a partition of the backfill refused to publish; retrying it alone")
        stack.finsight("backfill", "retry", manifest.id, "--wait")

    console.rule("6. held for approval; a reviewer approves the evidence")
    _approve(stack, backfills, manifest.id, console)
    console.print(
        f"{corrected[0]} silver amount total: {before} -> {_silver_total(settings, corrected[0])}"
    )

    console.rule("7. evidence")
    report = stack.finsight(
        "backfill", "report", manifest.id, "--out", str(settings.home / "reports")
    )
    console.print(report.stdout.strip())

    console.rule("8. rollback")
    rolled = stack.finsight("backfill", "rollback", manifest.id)
    console.print(rolled.stdout.strip() or rolled.stderr.strip())
    if rolled.returncode != 0:
        console.print(
            "refused, as it should be: yesterday's daily run opened from the backfill's "
            "balances. Forcing it, then recomputing what was built on top:"
        )
        rolled = stack.finsight("backfill", "rollback", manifest.id, "--force")
        console.print(rolled.stdout.strip() or rolled.stderr.strip())
        event = [e for e in store.events(manifest.id) if e["event"] == events.ROLLED_BACK][-1]
        for item in event["to_recompute"]:
            queued = stack.finsight("run-daily", "--date", item["date"])
            rerun = queued.stdout.split()[3]
            wait_for(
                lambda rerun=rerun: stack.webserver.run(rerun).status in ("SUCCESS", "FAILURE"),
                600,
                "the recomputation",
            )
            console.print(f"{item['asset']} {item['date']}: {stack.webserver.run(rerun).status}")
    console.print(
        f"{corrected[0]} silver amount total after rollback: "
        f"{_silver_total(settings, corrected[0])} (was {before})"
    )
    console.print(f"manifests: {MANIFESTS} in {settings.warehouse_path}")


def _approve(stack: DagsterStack, backfills, manifest_id: str, console: Console) -> None:
    """Approve the held evidence as the reviewer and time approval to published; a refusal (the
    daily lane moved the balance chain meanwhile) is recomputed by a retry and approved again."""
    for _ in range(2):
        now = backfills.standing(manifest_id)
        evidence = now.evidence_digest
        console.print(f"{manifest_id}: {now.stage}; evidence {evidence}")
        console.print(
            "published rows unchanged while held; the evidence is in the Dagster UI "
            "(operations/backfill_evidence) and in `finsight backfill report`"
        )
        started = time.monotonic()
        approved = stack.finsight(
            "backfill", "approve", manifest_id, "--by", REVIEWER, "--evidence", evidence or ""
        )
        seconds = time.monotonic() - started
        console.print(approved.stdout.strip() or approved.stderr.strip())
        console.print(f"approval to published: {seconds:.1f} s (the finsight command, end to end)")
        if approved.returncode == 0:
            return
        console.print("part of it was refused; recomputing it alone, then approving again")
        stack.finsight("backfill", "retry", manifest_id, "--wait")
    raise SystemExit(f"{manifest_id} did not publish on approval")


def demo_range(today_in_new_york: date, days: int) -> tuple[date, date]:
    last = today_in_new_york - timedelta(days=1)
    return last - timedelta(days=days - 1), last
