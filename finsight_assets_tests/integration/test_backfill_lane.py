"""Backfills end to end against a real Dagster webserver and daemon on 127.0.0.1.

One stack for the module: 24 generated days, the first 20 materialized before it starts.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from finsight_assets.dev.stack import wait_for
from finsight_assets.lib.backfills.store import ManifestStore
from finsight_assets.lib.engines.duckdb_warehouse import duckdb_connector
from finsight_assets.lib.wap.publish_history import unreported_changes
from finsight_assets_tests.browser import (
    browser_page,
    cancel_backfill_in_ui,
    check_partition_statuses,
    evidence_in_ui,
    launch_backfill_from_ui,
    partition_page,
    snapshot,
)
from finsight_assets_tests.pipeline import query
from finsight_assets_tests.stacks import running_stack

S = date(2025, 3, 1)
DAYS_PER_RUN = 7
TERMINAL = {"COMPLETED", "COMPLETED_SUCCESS", "COMPLETED_FAILED", "FAILED", "CANCELED"}


def day(n: int) -> date:
    return S + timedelta(days=n)


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    home = tmp_path_factory.mktemp("stack")
    with running_stack(
        home, S, 24, 20, rows_per_day=300, seed=21, days_per_run=DAYS_PER_RUN,
        late_data_quiet_seconds=5,
    ) as running:  # fmt: skip
        yield running


def finsight_json(stack, *args: str) -> dict:
    done = stack.finsight(*args, "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout[done.stdout.index("{") :])


def plan(stack, first: date, last: date, *extra: str, reason: str = "test") -> dict:
    return finsight_json(
        stack,
        "backfill",
        "plan",
        "--start",
        first.isoformat(),
        "--end",
        last.isoformat(),
        "--reason",
        reason,
        "--requested-by",
        "ann",
        *extra,
    )


def current_versions(home) -> dict:
    return {
        (t, d): v
        for t, d, v in query(
            home, "SELECT table_name, business_date, version_id FROM audit.current_versions"
        )
    }


def wait_backfill(stack, backfill_id: str, seconds: float = 600):
    return wait_for(
        lambda: (state := stack.webserver.backfill(backfill_id)).status in TERMINAL and state,
        seconds,
        f"backfill {backfill_id} to finish",
        every=3,
    )


def test_plan_approve_launch_wait_report_rollback(stack, tmp_path):
    before = current_versions(stack.home)
    manifest = plan(stack, day(2), day(8))
    assert manifest["approvals_required"] == 1
    ranges = {r["asset"]: (r["start"], r["end"]) for r in manifest["ranges"]}
    assert ranges["silver.transactions"] == (day(2).isoformat(), day(8).isoformat())
    assert ranges["gold.account_daily_balance"] == (day(2).isoformat(), day(19).isoformat())
    assert manifest["input_versions"][day(2).isoformat()]["transactions"]
    assert manifest["estimate"]["raw_rows"] > 0

    exports = stack.home / "lake" / "exports"
    for path in exports.glob("*.csv"):
        path.unlink()
    # It needs an approval: its runs compute and audit, and hold what they would publish.
    launched = stack.finsight("backfill", "launch", manifest["id"], "--wait", timeout=900)
    assert launched.returncode == 0, launched.stdout + launched.stderr
    assert "held for approval" in launched.stdout
    assert current_versions(stack.home) == before
    status = finsight_json(stack, "backfill", "status", manifest["id"])
    assert status["status"] == "awaiting approval", status["status"]
    evidence = status["evidence_digest"]
    report = finsight_json(stack, "backfill", "report", manifest["id"], "--out", str(tmp_path))
    held_report = (tmp_path / report["markdown"].split("/")[-1]).read_text()
    assert "held for approval" in held_report and evidence in held_report

    self_approval = stack.finsight(
        "backfill", "approve", manifest["id"], "--by", "ann", "--evidence", evidence
    )
    assert self_approval.returncode != 0
    approved = finsight_json(
        stack, "backfill", "approve", manifest["id"], "--by", "bob", "--evidence", evidence
    )
    assert [a["by"] for a in approved["approvals"]] == ["bob"]
    assert approved["published"] > 0 and approved["refused"] == {}
    assert finsight_json(stack, "backfill", "status", manifest["id"])["status"] == "published"

    after = current_versions(stack.home)
    for d in range(2, 9):
        assert after[("silver.transactions", day(d))] != before[("silver.transactions", day(d))]
    assert (
        after[("gold.account_daily_balance", day(19))]
        != before[("gold.account_daily_balance", day(19))]
    )
    assert after[("silver.transactions", day(1))] == before[("silver.transactions", day(1))]
    # Silver's 7 days fit one run of DAYS_PER_RUN; the balance chain's 18 days, more than a
    # batch, went in one run too (not three, one after another).
    runs = query(
        stack.home,
        "SELECT table_name, COUNT(DISTINCT run_id) FROM audit.partition_versions "
        f"WHERE manifest_id = '{manifest['id']}' GROUP BY 1",
    )
    assert dict(runs)["silver.transactions"] == 1
    assert dict(runs)["gold.account_daily_balance"] == 1
    modes = query(
        stack.home,
        f"SELECT DISTINCT _mode FROM silver.transactions WHERE business_date = DATE '{day(3)}'",
    )
    assert modes == [("BACKFILL",)]
    # The side-effect guard: a backfill without permission writes no partner file.
    assert list(exports.glob("*.csv")) == []
    # The UI shows each published day as its latest materialization, with its own rows.
    published_rows = dict(
        query(
            stack.home,
            "SELECT c.business_date, v.row_count FROM audit.current_versions c JOIN "
            "audit.partition_versions v USING (version_id) "
            "WHERE c.table_name = 'silver.transactions'",
        )
    )
    latest = wait_for(
        lambda: (
            (
                found := stack.webserver.latest_materializations(
                    ["silver", "transactions"], [day(d).isoformat() for d in range(2, 9)]
                )
            )
            and all("approval" in (m.get("description") or "") for m in found.values())
            and found
        ),
        60,
        "the held publish to show in Dagster",
    )
    for d in range(2, 9):
        assert latest[day(d).isoformat()]["row_count"] == published_rows[day(d)]

    report = finsight_json(stack, "backfill", "report", manifest["id"], "--out", str(tmp_path))
    markdown = (tmp_path / report["markdown"].split("/")[-1]).read_text()
    assert manifest["id"] in markdown and "bob" in markdown and "silver.transactions" in markdown
    assert "held for approval" not in markdown
    assert (tmp_path / report["chart"].split("/")[-1]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    rolled = finsight_json(stack, "backfill", "rollback", manifest["id"])
    assert set(rolled["restored"]) >= {"silver.transactions", "gold.account_daily_balance"}
    assert current_versions(stack.home) == before
    log = query(
        stack.home,
        f"SELECT COUNT(*) FROM audit.publish_log WHERE action = 'rollback' AND note LIKE '%{manifest['id']}%'",
    )
    assert log[0][0] > 0
    again = stack.finsight("backfill", "rollback", manifest["id"])
    assert again.returncode != 0


def test_a_backfill_launched_from_the_ui_gets_a_manifest(stack):
    from finsight_assets.lib.engines.webserver import PartitionRange

    backfill_id = stack.webserver.launch_backfill(
        [PartitionRange(["silver", "customers"], day(12).isoformat(), day(12).isoformat())],
        tags={},
        title="from the UI",
        description="",
    )
    store = ManifestStore(duckdb_connector(stack.home / "warehouse.duckdb"))
    manifest_id = f"ui-{backfill_id}"
    wait_for(lambda: store.exists(manifest_id), 120, "the UI backfill's manifest")
    manifest = store.get(manifest_id)
    assert manifest.reason == "launched from the UI"
    assert manifest.dagster_backfill_id == backfill_id
    assert any(r.asset == "silver.customers" for r in manifest.ranges)
    state = wait_backfill(stack, backfill_id)
    assert state.status.startswith("COMPLETED")
    versions = query(
        stack.home,
        f"SELECT table_name, business_date FROM audit.partition_versions WHERE manifest_id = '{manifest_id}'",
    )
    assert ("silver.customers", day(12)) in versions


def test_from_the_ui_launcher_a_backfill_holds_until_approved(stack):
    """The Dagster UI's partition backfill launcher, in headless Chromium, for 7 days of silver
    customers: the approval matrix asks one approval, and a UI backfill, whose requester nobody
    authenticated, one more; so the backfill (and the gold it leaves out, completed on the
    backfill lane) holds; one approval publishes nothing, the second publishes; the Checks tab
    shows each day's verdict; held days read not live (`live` failing), published days live."""
    store = ManifestStore(duckdb_connector(stack.home / "warehouse.duckdb"))
    # A week no other backfill of this module has touched before it (7 days: one approval, and
    # one more for the UI's unauthenticated requester).
    first, last = day(13), day(19)
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    before = current_versions(stack.home)
    with browser_page() as page:
        backfill_id = launch_backfill_from_ui(
            page, stack.url, "silver/customers", first.isoformat(), last.isoformat()
        )
    manifest_id = f"ui-{backfill_id}"
    wait_for(lambda: store.exists(manifest_id), 120, "the UI backfill's manifest")
    manifest = store.get(manifest_id)
    assert manifest.source == "ui" and manifest.approvals_required == 2
    assert manifest.extra == {"requester_unauthenticated": True}
    assert {r.asset for r in manifest.ranges} >= {"silver.customers", "gold.segment_daily_report"}

    state = wait_backfill(stack, backfill_id)
    assert state.status.startswith("COMPLETED") and state.runs
    # On the backfill lane: the queue's lane limit keys on dagster/backfill; each output says so.
    assert all(r.tags.get("dagster/backfill") == backfill_id for r in state.runs)
    status = wait_for(
        lambda: (
            (s := finsight_json(stack, "backfill", "status", manifest_id))["status"]
            == "awaiting approval"
            and s
        ),
        600,
        "the UI backfill and the rest of its scope to hold for approval",
        every=5,
    )
    assert len(store.backfill_ids(manifest_id)) == 2  # the UI's, and the completion of its scope
    held_at = current_versions(stack.home)
    for table in ("silver.customers", "gold.segment_daily_report"):
        for d in days:
            assert held_at[(table, d)] == before[(table, d)], (table, d)
    # Held is not live: each held day's latest materialization says so, and `live` fails on it.
    held_events = stack.webserver.latest_materializations(
        ["silver", "customers"], [d.isoformat() for d in days]
    )
    assert all(
        (m["description"] or "").startswith(f"HELD for approval of {manifest_id}")
        for m in held_events.values()
    ), held_events
    with browser_page() as page:
        live_held = check_partition_statuses(page, stack.url, "silver/customers", "live")
        snapshot(page, None, "held-live-check")
        snapshot(page, f"{stack.url}/runs/b/{backfill_id}", "held-backfill")
        held_day = partition_page(stack.url, "silver/customers", first.isoformat())
        snapshot(page, held_day, "held-day")
    assert live_held.get("Failed", 0) >= len(days), live_held

    alone = finsight_json(
        stack, "backfill", "approve", manifest_id, "--by", "bob",
        "--evidence", status["evidence_digest"],
    )  # fmt: skip
    assert "published" not in alone and alone["required"] == 2
    after_one = current_versions(stack.home)
    assert all(after_one[(t, d)] == held_at[(t, d)] for t in ("silver.customers",) for d in days)
    approved = finsight_json(
        stack, "backfill", "approve", manifest_id, "--by", "carol",
        "--evidence", status["evidence_digest"],
    )  # fmt: skip
    assert approved["refused"] == {} and approved["published"] == 2 * len(days)
    after = current_versions(stack.home)
    for table in ("silver.customers", "gold.segment_daily_report"):
        for d in days:
            assert after[(table, d)] != before[(table, d)], (table, d)
    assert finsight_json(stack, "backfill", "status", manifest_id)["status"] == "published"
    wait_for(
        lambda: all(
            "approval" in (m["description"] or "")
            for m in stack.webserver.latest_materializations(
                ["silver", "customers"], [d.isoformat() for d in days]
            ).values()
        ),
        90,
        "the published days to show as their latest materializations",
    )
    wait_for(
        lambda: (
            "published"
            in (
                stack.webserver.latest_materializations(
                    ["operations", "backfill_evidence"], [manifest_id]
                )
                .get(manifest_id, {})
                .get("description")
                or ""
            )
        ),
        120,
        "the published backfill's evidence in the UI",
    )
    with browser_page() as page:
        report, charts = evidence_in_ui(page, stack.url, manifest_id)
        verdicts = check_partition_statuses(page, stack.url, "silver/customers", "unique_key")
        # Published on approval: live, with its checks judging the published version (the
        # held days turn from failing to passing; no day of silver.customers reads Missing
        # that did not before).
        live_now = wait_for(
            lambda: (
                (
                    found := check_partition_statuses(page, stack.url, "silver/customers", "live")
                ).get("Failed", 0)
                == live_held["Failed"] - len(days)
                and found
            ),
            120,
            "the approved days to read live",
            every=5,
        )
        assert live_now["Passed"] == live_held.get("Passed", 0) + len(days), (live_now, live_held)
        assert live_now.get("Missing", 0) == live_held.get("Missing", 0), (live_now, live_held)
        snapshot(page, None, "approved-live-check")
        snapshot(page, held_day, "approved-day")
        snapshot(page, f"{stack.url}/assets/silver/customers?view=checks", "approved-checks")
    materialized = len(
        query(
            stack.home, "SELECT * FROM audit.current_versions WHERE table_name = 'silver.customers'"
        )
    )
    # Every day verdict is a pass, also on days an earlier test published on approval and
    # rolled back (each publish outside a run is reported in a run of its own).
    assert verdicts["Passed"] >= len(days) and verdicts["Failed"] == 0, (verdicts, materialized)
    assert verdicts.get("Skipped", 0) == 0, verdicts
    assert "Balance roll-forward" in report and "silver.customers" in report and charts == 1


def redeliver_corrected(lake, d: date) -> None:
    """Upstream re-sends a day's first file with every amount raised by 1.00."""
    folder = lake / "raw" / "transactions" / f"business_date={d}"
    first = sorted(folder.glob("*.parquet"))[0]
    table = pq.read_table(first)
    raised = pc.add(table.column("amount"), pa.scalar(Decimal("1.00"), pa.decimal128(18, 2)))
    table = table.set_column(
        table.schema.get_field_index("amount"), "amount", raised.cast(pa.decimal128(18, 2))
    )
    pq.write_table(table, first)


def test_late_data_sensor_backfills_and_respects_a_rollback(stack):
    store = ManifestStore(duckdb_connector(stack.home / "warehouse.duckdb"))
    d = day(15)
    total = f"SELECT SUM(amount) FROM silver.transactions WHERE business_date = DATE '{d}'"
    before = query(stack.home, total)[0][0]
    redeliver_corrected(stack.home / "lake", d)

    def sensor_manifest():
        found = [m for m in store.list() if m.reason == "input changed"]
        return found[0] if found else None

    manifest = wait_for(sensor_manifest, 120, "the late-data sensor to plan a backfill")
    assert manifest.source == "sensor" and manifest.approvals_required == 0
    assert (manifest.requested_start, manifest.requested_end) == (d, d)
    backfill_id = wait_for(lambda: store.backfill_ids(manifest.id), 120, "the sensor's launch")[0]
    wait_backfill(stack, backfill_id)
    assert query(stack.home, total)[0][0] > before

    rolled = stack.finsight("backfill", "rollback", manifest.id)
    assert rolled.returncode == 0, rolled.stdout + rolled.stderr
    assert query(stack.home, total)[0][0] == before
    # Two sensor ticks later, the rolled-back input is still left alone.
    import time

    time.sleep(40)
    assert [m.id for m in store.list() if m.reason == "input changed"] == [manifest.id]


def test_a_failed_partition_is_retried_alone_and_a_fixed_input_planned_again(stack):
    bad = stack.home / "lake" / "raw" / "transactions" / f"business_date={day(21)}" / "zz.parquet"
    bad.write_bytes(b"not parquet at all")
    manifest = plan(stack, day(20), day(22))
    failed = stack.finsight("backfill", "launch", manifest["id"], "--wait", timeout=900)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    published = {
        r[0] for r in query(stack.home, "SELECT DISTINCT business_date FROM silver.transactions")
    }
    assert day(20) in published and day(22) in published and day(21) not in published

    store = ManifestStore(duckdb_connector(stack.home / "warehouse.duckdb"))
    wait_for(
        lambda: any(e["event"] == "run_failed" for e in store.events(manifest["id"])),
        120,
        "the failure sensor to record the failed run",
    )
    # On the inputs it was planned on, a retry re-runs the failed day alone (and fails again).
    retried = stack.finsight("backfill", "retry", manifest["id"], "--wait", timeout=900)
    assert retried.returncode == 1, retried.stdout + retried.stderr
    (event,) = [e for e in store.events(manifest["id"]) if e["event"] == "retried"]
    silver = [r for r in event["ranges"] if r["asset"] == "silver.transactions"]
    assert silver == [
        {"asset": "silver.transactions", "start": day(21).isoformat(), "end": day(21).isoformat()}
    ]

    # Fixing the input is drift from what it was planned on: the retry refuses, a new plan runs.
    bad.unlink()
    refused = stack.finsight("backfill", "retry", manifest["id"])
    said = " ".join((refused.stdout + refused.stderr).split())
    assert refused.returncode == 1 and f"raw input {day(21)} transactions" in said, said
    assert f"--start {day(20)} --end {day(22)}" in said
    again = plan(stack, day(20), day(22))
    fixed = stack.finsight("backfill", "launch", again["id"], "--wait", timeout=900)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    rows = query(
        stack.home,
        f"SELECT COUNT(*) FROM gold.account_daily_balance WHERE business_date = DATE '{day(22)}'",
    )
    assert rows[0][0] > 0


def test_side_effects_run_when_the_manifest_allows_them(stack):
    manifest = plan(
        stack, day(4), day(4), "--assets", "exports.partner_daily_export", "--allow-side-effects"
    )
    assert [r["asset"] for r in manifest["ranges"]] == ["exports.partner_daily_export"]
    launched = stack.finsight("backfill", "launch", manifest["id"], "--wait", timeout=600)
    assert launched.returncode == 0, launched.stdout + launched.stderr
    exported = stack.home / "lake" / "exports" / f"partner_daily_export_{day(4)}.csv"
    assert exported.read_text().startswith("business_date,customer_id,txn_count")


def test_the_daily_run_overtakes_a_running_backfill(stack):
    manifest = plan(stack, day(0), day(19))
    launched = finsight_json(stack, "backfill", "launch", manifest["id"])
    backfill_id = launched["backfill_id"]
    wait_for(
        lambda: any(r.status == "STARTED" for r in stack.webserver.backfill(backfill_id).runs),
        300,
        "a backfill run to start",
    )
    daily = stack.finsight("run-daily", "--date", day(23).isoformat())
    assert daily.returncode == 0, daily.stdout + daily.stderr
    run_id = daily.stdout.split()[3]
    wait_for(
        lambda: stack.webserver.run(run_id).status not in ("QUEUED", "NOT_STARTED"),
        60,
        "the daily run to leave the queue",
    )
    assert stack.webserver.backfill(backfill_id).status not in TERMINAL
    assert stack.webserver.run(run_id).tags["finsight/lane"] == "daily"
    stack.finsight("backfill", "cancel", manifest["id"])
    wait_backfill(stack, backfill_id)
    wait_for(
        lambda: stack.webserver.run(run_id).status in ("SUCCESS", "FAILURE", "CANCELED"),
        300,
        "the daily run to end",
    )
    broken = query(
        stack.home,
        "SELECT COUNT(*) FROM gold.account_daily_balance AS t "
        "LEFT JOIN gold.account_daily_balance AS y ON y.account_id = t.account_id "
        "AND y.business_date = t.business_date - 1 "
        f"WHERE t.business_date > DATE '{S}' "
        "AND t.closing_balance_usd - t.net_flow_usd <> COALESCE(y.closing_balance_usd, 0)",
    )
    assert broken == [(0,)]


def held_of(home, manifest_id: str) -> set[tuple]:
    """The (table, day) a manifest holds, by its held versions' records."""
    return {
        (t, d)
        for t, d in query(
            home,
            "SELECT table_name, business_date FROM audit.held_versions "
            f"WHERE manifest_id = '{manifest_id}'",
        )
    }


def held_rows_of(home, run_ids: list[str]) -> list[tuple]:
    """Rows those runs left held in silver customers' versions table (never published)."""
    listed = ", ".join(f"'{r}'" for r in run_ids)
    return query(
        home,
        f"SELECT _version_id FROM versions.silver__customers WHERE _run_id IN ({listed}) "
        "AND _version_id NOT IN (SELECT version_id FROM audit.partition_versions)",
    )


def test_a_cancel_in_the_ui_stops_the_run_and_a_rejection_leaves_no_trace(stack):
    """In headless Chromium: a UI backfill of silver customers cancelled from its page while its
    run computes: the run ends CANCELED, not SUCCESS. A UI backfill of a week (it needs approval,
    so its silver days are held) whose rest of scope is cancelled in the UI as its run starts:
    a run that beats the cancel (seconds) ends as it may, but nothing of the manifest stays held
    (the silver held before the cancel included); `status` says cancelled and an approval is
    refused. A held backfill rejected: each day it held is logged as a discard naming the day's
    live version (what the UI re-reports as the day's latest state)."""
    store = ManifestStore(duckdb_connector(stack.home / "warehouse.duckdb"))
    with browser_page() as page:
        # The test holds the warehouse file from before the launch, so the run waits its turn
        # and is still in progress when the cancel lands, however fast this machine computes
        # five days (taken after the run started, the run could take the file first and end).
        with duckdb_connector(stack.home / "warehouse.duckdb")():
            stopped = launch_backfill_from_ui(
                page, stack.url, "silver/customers", day(7).isoformat(), day(11).isoformat()
            )
            wait_for(
                lambda: any(r.status == "STARTED" for r in stack.webserver.backfill(stopped).runs),
                300,
                "the backfill's run to start",
                every=0.5,
            )
            cancel_backfill_in_ui(page, stack.url, stopped)
            wait_for(
                lambda: {r.status for r in stack.webserver.backfill(stopped).runs} == {"CANCELED"},
                180,
                "the run in progress to be terminated",
                every=1,
            )
        state = wait_backfill(stack, stopped)
        assert state.status == "CANCELED", state.status
        assert state.runs and {r.status for r in state.runs} == {"CANCELED"}, state.runs
        snapshot(page, f"{stack.url}/runs/b/{stopped}", "cancelled-backfill")

        first = launch_backfill_from_ui(
            page, stack.url, "silver/customers", day(0).isoformat(), day(6).isoformat()
        )
        cancelled = f"ui-{first}"
        rest = wait_for(
            lambda: (
                store.exists(cancelled)
                and len(ids := store.backfill_ids(cancelled)) > 1
                and ids[-1]
            ),
            600,
            "the rest of the UI backfill's scope to launch",
            every=1,
        )
        assert held_of(stack.home, cancelled)  # the silver days the UI's backfill held
        cancel_backfill_in_ui(page, stack.url, rest)
    state = wait_backfill(stack, rest)
    assert state.status == "CANCELED", state.status
    assert {r.status for r in state.runs} <= {"CANCELED", "SUCCESS"}, state.runs
    assert store.get(cancelled).approvals_required > 0
    wait_for(lambda: not held_of(stack.home, cancelled), 120, "nothing to stay held")
    runs = [r.run_id for b in (first, rest) for r in stack.webserver.backfill(b).runs]
    assert not held_rows_of(stack.home, runs)
    assert finsight_json(stack, "backfill", "status", cancelled)["status"] == "cancelled"
    refused = stack.finsight("backfill", "approve", cancelled, "--by", "bob", "--evidence", "x")
    assert refused.returncode == 1 and "is cancelled" in refused.stdout, refused.stdout

    rejected = plan(stack, day(13), day(19), "--assets", "silver.customers")["id"]
    assert store.get(rejected).approvals_required > 0
    launched = stack.finsight("backfill", "launch", rejected, "--wait", timeout=900)
    assert launched.returncode == 0, launched.stdout + launched.stderr
    held = held_of(stack.home, rejected)
    assert ("silver.customers", day(13)) in held
    (last,) = query(stack.home, "SELECT COALESCE(MAX(seq), 0) FROM audit.publish_log")[0]
    done = stack.finsight("backfill", "reject", rejected, "--by", "bob", "--reason", "wrong feed")
    assert done.returncode == 0, done.stdout + done.stderr
    assert not held_of(stack.home, rejected)
    live = current_versions(stack.home)
    with duckdb_connector(stack.home / "warehouse.duckdb", read_only=True)() as warehouse:
        changes, _ = unreported_changes(warehouse, last)
    discards = {(c.table_name, c.business_date): c for c in changes if c.manifest_id == rejected}
    assert set(discards) == held
    for key, change in discards.items():
        assert change.action == "discard" and change.version_id == live.get(key, ""), change
    # No trace in the UI: each rejected day's latest materialization is its live version again.
    rejected_days = sorted(d for t, d in held if t == "silver.customers" and live.get((t, d)))
    assert rejected_days  # the stack published this week before the test
    wait_for(
        lambda: all(
            f"the candidate of {rejected} was discarded" in (m["description"] or "")
            for m in stack.webserver.latest_materializations(
                ["silver", "customers"], [d.isoformat() for d in rejected_days]
            ).values()
        ),
        120,
        "the rejected days to show their live version as their latest state",
    )
    with browser_page() as page:
        snapshot(
            page,
            partition_page(stack.url, "silver/customers", rejected_days[0].isoformat()),
            "rejected-day",
        )
