"""What the report, `status` and the evidence asset say of a backfill as it stands, through the
real operations on DuckDB: held rows are not called published, approvals are counted and named,
a day a later backfill replaced is not "rolled back", `status` prints one digest (the one
`approve --evidence` takes), and nothing offers to approve a cancelled backfill."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from typer.testing import CliRunner

from finsight_assets.cli.main import app
from finsight_assets.defs.evidence import evidence_materialization
from finsight_assets.dev.synthetic import generate_raw
from finsight_assets.lib.backfills import events, evidence, lifecycle, stages
from finsight_assets.lib.backfills.operations import Backfills, open_backfills
from finsight_assets.lib.backfills.report.markdown import render_markdown
from finsight_assets.lib.backfills.successors import Fate, fates
from finsight_assets.lib.contract.run_tags import BACKFILL
from finsight_assets.lib.engines.webserver_answers import BackfillState
from finsight_assets.lib.settings import Settings
from finsight_assets.lib.tables.silver_customers import SILVER_CUSTOMERS
from finsight_assets.lib.wap.model import RunInfo
from finsight_assets.lib.wap.publish_history import manifest_versions
from finsight_assets.lib.wap.rollback import rollback
from finsight_assets_tests.held import hold_customers, publish_customers
from finsight_assets_tests.lib.wap.test_publish import publish_customers as publish_day
from finsight_assets_tests.lib.wap.test_retention import backfill

FIRST = date(2025, 3, 1)
CLOCK = datetime(2025, 3, 10, 9, 0, tzinfo=UTC)
UNREACHABLE = "http://127.0.0.1:9"
CUSTOMERS = "silver.customers"


def day(n: int) -> date:
    return FIRST + timedelta(days=n)


@pytest.fixture
def ops(home, monkeypatch) -> Backfills:
    monkeypatch.setenv("DAGSTER_WEBSERVER_URL", UNREACHABLE)
    generate_raw(home / "lake", FIRST, day(1), rows_per_day=20, seed=5)
    opened = open_backfills(replace(Settings.from_env(), webserver_url=UNREACHABLE), lambda: CLOCK)
    publish_customers(opened.connect, opened.lake, day(1), "C0")
    return opened


def held_plan(ops: Backfills, days: int) -> tuple[str, str]:
    """A manifest of `days` requested days, its run holding silver.customers of day 1 (3 rows
    over the daily lane's 1): its id and the evidence digest."""
    manifest = ops.plan(
        reason="fix FX",
        requested_by="ann",
        requested_dates={CUSTOMERS: [day(i) for i in range(days)]},
    )
    hold_customers(ops.connect, ops.lake, manifest.id, day(1), "C1", "C2", "C3")
    digest = ops.evidence_digest(manifest.id)
    assert digest is not None
    return manifest.id, digest


def status(manifest_id: str, *options: str) -> str:
    result = CliRunner().invoke(app, ["backfill", "status", manifest_id, *options])
    assert result.exit_code == 0, result.output
    return result.output


def said(text: str) -> str:
    return " ".join(text.split())


def report(ops: Backfills, manifest_id: str, now: lifecycle.Standing | None = None) -> str:
    found = evidence.evidence(ops, manifest_id, now) if now else ops.evidence(manifest_id)
    return render_markdown(found, None)


def test_held_rows_are_held_for_approval_not_published(ops):
    manifest_id, digest = held_plan(ops, 8)

    markdown = report(ops, manifest_id)
    assert "| rows held for approval | — | 3 |" in markdown
    assert "rows published" not in markdown
    assert "| partitions | 8 | 1 (0 published, 1 held for approval) |" in markdown
    assert f"**To approve:** `finsight backfill approve {manifest_id} --evidence {digest}`" in (
        markdown
    )
    shown = json.loads(status(manifest_id, "--json"))
    assert shown["rows_held_for_approval"] == 3 and "rows_published" not in shown
    human = said(status(manifest_id))
    assert "rows held for approval: 3" in human and "rows published" not in human


def test_status_prints_one_digest_the_one_approve_takes(ops):
    manifest_id, digest = held_plan(ops, 8)
    manifest_digest = ops.store.digest(manifest_id)

    human = said(status(manifest_id))
    assert f"evidence digest: {digest}" in human
    assert f"finsight backfill approve {manifest_id} --evidence {digest}" in human
    assert manifest_digest not in human
    assert human.count("sha256:") == 2  # the digest, and the command that names it
    shown = json.loads(status(manifest_id, "--json"))
    assert shown["evidence_digest"] == digest
    assert shown["manifest_digest"] == manifest_digest and "digest" not in shown
    approved = CliRunner().invoke(
        app, ["backfill", "approve", manifest_id, "--by", "bob", "--evidence", digest]
    )
    assert approved.exit_code == 0, approved.output


def test_an_approved_published_backfill_names_its_approvals(ops):
    manifest_id, digest = held_plan(ops, 31)
    assert ops.store.get(manifest_id).approvals_required == 2
    ops.approve(manifest_id, "alice", digest)
    assert "1 of 2 approvals (alice; 1 missing)" in said(status(manifest_id))
    assert ops.approve(manifest_id, "bob", digest).published is not None

    assert ops.stage(manifest_id) == stages.PUBLISHED
    markdown = report(ops, manifest_id)
    assert f"- **Approvals:** 2 of 2 approvals (alice, bob) of evidence `{digest}` — alice at" in (
        markdown
    )
    assert "missing" not in markdown
    assert "| rows published | — | 3 |" in markdown and "held for approval" not in markdown
    human = said(status(manifest_id))
    assert "status: published approvals: 2 of 2 approvals (alice, bob)" in human
    assert "rows published: 3" in human
    assert "approve " not in human and "evidence digest" not in human
    assert [a["by"] for a in json.loads(status(manifest_id, "--json"))["approvals"]] == [
        "alice",
        "bob",
    ]


def two_backfills(ops: Backfills) -> tuple[str, str]:
    """Two backfills of silver.customers' day 0 (no approval needed), the second published over
    the first's version."""
    first, second = (
        ops.plan(reason="fix", requested_by="ann", requested_dates={CUSTOMERS: [day(0)]}).id
        for _ in range(2)
    )
    with ops.connect() as warehouse:
        backfill(warehouse, first, day(0), ("C1", "SMB"))
        backfill(warehouse, second, day(0), ("C1", "CORPORATE"))
    return first, second


def test_a_day_a_later_backfill_replaced_is_not_rolled_back(ops):
    first, second = two_backfills(ops)

    markdown = report(ops, first)
    assert "| partitions | 1 | 1 (1 published; since: 1 replaced by a later backfill) |" in (
        markdown
    )
    assert markdown.count("rolled back") == 0
    assert f"| replaced by a later backfill (`{second}`) |" in markdown
    assert "| live |" in report(ops, second)
    human = said(status(first))
    assert f"published partitions: 0 live; 1 replaced by a later backfill or run ({second})" in (
        human
    )
    assert "rolled back" not in human
    assert json.loads(status(first, "--json"))["published_partitions"] == {
        "live": 0,
        "rolled_back": 0,
        "replaced_by_later": {second: 1},
    }

    ops.rollback(second)
    assert "| live |" in report(ops, first)
    ops.rollback(first)
    rolled = report(ops, first)
    assert "1 (1 published; since: 1 rolled back)" in rolled
    assert "| rolled back |" in rolled and "replaced by" not in rolled
    assert "published partitions: 0 live; 1 rolled back" in said(status(first))


def test_a_cancelled_backfill_offers_no_approve_command(ops, monkeypatch):
    manifest_id, digest = held_plan(ops, 8)
    ops.store.record(manifest_id, events.LAUNCHED, CLOCK, backfill_id="bf1", by="ann")
    ops.store.record(manifest_id, events.CANCELLED, CLOCK, backfill_ids=["bf1"], by="ann")
    now = ops.standing(manifest_id)
    assert now == lifecycle.Standing(stages.CANCELLED, digest)
    # What Dagster answers for the cancelled backfill, to the report's question about its runs.
    cancelled = BackfillState("bf1", "CANCELED", [], [], {})
    monkeypatch.setattr(ops.webserver, "backfill", lambda backfill_id: cancelled)

    human = said(status(manifest_id))
    assert "status: cancelled" in human and "backfill approve" not in human
    assert f'finsight backfill reject {manifest_id} --reason "cancelled"' in human
    assert json.loads(status(manifest_id, "--json"))["next_command"].startswith(
        "finsight backfill reject"
    )
    markdown = report(ops, manifest_id, now)
    assert "backfill approve" not in markdown and "backfill reject" in markdown
    materialization = evidence_materialization(ops, manifest_id, now)
    assert "approve" not in materialization.metadata
    assert "backfill approve" not in materialization.metadata["report"].value
    assert materialization.metadata["reject"].value.startswith("finsight backfill reject")


def test_a_versions_fate_is_read_from_the_publish_log_on_both_engines(connect):
    with connect() as warehouse:
        (mine,) = backfill(warehouse, "bf-first", day(0), ("C1", "SMB"))
        key = (CUSTOMERS, day(0), mine.version_id)

        def fate() -> Fate:
            found = fates(warehouse, "bf-first", manifest_versions(warehouse, "bf-first"))
            return found[key]

        assert fate() == Fate() and fate().live
        (later,) = backfill(warehouse, "bf-second", day(0), ("C1", "CORPORATE"))
        assert fate() == Fate(replaced_by="bf-second")
        undo = RunInfo("undo", BACKFILL, CLOCK)
        rollback(warehouse, SILVER_CUSTOMERS, [later.version_id], undo)
        assert fate() == Fate()
        publish_day(warehouse, "daily-1", day(0), ("C1", "RETAIL"))
        assert fate() == Fate(replaced_by="daily-1", replaced_by_run=True)
        rollback(warehouse, SILVER_CUSTOMERS, [mine.version_id], undo, force=True)
        assert fate() == Fate(replaced_by="daily-1", replaced_by_run=True)
