"""Backfill operations that need no Dagster: planning, approvals, stale code, rollback guards."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from finsight_assets.dev.synthetic import generate_raw
from finsight_assets.lib.backfills import stages
from finsight_assets.lib.backfills.manifests import BackfillError, ManifestError, approvals_required
from finsight_assets.lib.backfills.operations import open_backfills
from finsight_assets.lib.settings import Settings
from finsight_assets.lib.tables import registry
from finsight_assets_tests.held import hold_customers
from finsight_assets_tests.pipeline import query, run_pipeline

FIRST = date(2025, 3, 1)
CLOCK = datetime(2025, 3, 10, 9, 0, tzinfo=UTC)


def day(n: int) -> date:
    return FIRST + timedelta(days=n)


@pytest.fixture
def loaded(engine, home):
    generate_raw(home / "lake", FIRST, day(4), rows_per_day=200, seed=4)
    run_pipeline(engine, home, [day(i) for i in range(4)], first=FIRST)
    return open_backfills(
        replace(Settings.from_env(), webserver_url="http://127.0.0.1:9"), lambda: CLOCK
    )


def test_the_approval_matrix():
    assert [approvals_required(n) for n in (1, 6, 7, 30, 31, 180)] == [0, 0, 1, 1, 2, 2]


def test_a_plan_scopes_downstream_and_rolls_the_balance_forward(loaded):
    manifest = loaded.plan(
        reason="fix", requested_by="ann", start=day(1), end=day(1), assets=["silver.customers"]
    )
    ranges = {r.asset: (r.start, r.end) for r in manifest.ranges}
    assert ranges == {
        "silver.customers": (day(1), day(1)),
        "gold.segment_daily_report": (day(1), day(1)),
    }
    manifest = loaded.plan(reason="fix", requested_by="ann", start=day(1), end=day(1))
    ranges = {r.asset: (r.start, r.end) for r in manifest.ranges}
    assert ranges["gold.account_daily_balance"] == (day(1), day(3))
    assert ranges["silver.transactions_rejected"] == (day(1), day(1))
    assert manifest.estimate.raw_rows > 0 and manifest.approvals_required == 0
    assert set(manifest.input_versions) == {day(i).isoformat() for i in range(1, 4)}
    with pytest.raises(ManifestError, match="already holds"):
        loaded.store.create(manifest)
    assert loaded.store.get(manifest.id) == manifest


def test_approval_is_of_the_held_evidence_and_publishes_it(loaded):
    manifest = loaded.plan(
        reason="fix",
        requested_by="ann",
        requested_dates={"silver.customers": [day(i) for i in range(8)]},
    )
    assert manifest.approvals_required == 1
    with pytest.raises(ManifestError, match="holds nothing to approve"):
        loaded.approve(manifest.id, "bob", "sha256:x")
    hold_customers(loaded.connect, loaded.lake, manifest.id, day(1), "C1")
    first = loaded.evidence_digest(manifest.id)
    assert loaded.stage(manifest.id) == stages.AWAITING_APPROVAL
    with pytest.raises(ManifestError, match="cannot approve"):
        loaded.approve(manifest.id, "ann", first)
    # A retry that holds anew changes the evidence: an approval of the old one is refused.
    hold_customers(loaded.connect, loaded.lake, manifest.id, day(1), "C1", "C2")
    with pytest.raises(ManifestError, match="review it again"):
        loaded.approve(manifest.id, "bob", first)
    approval = loaded.approve(manifest.id, "bob", loaded.evidence_digest(manifest.id))
    assert approval.published is not None and not approval.published.refused
    assert [v.table_name for v in approval.published.published] == ["silver.customers"]
    assert loaded.stage(manifest.id) == stages.PUBLISHED
    with loaded.connect() as warehouse:
        rows = warehouse.fetchall(
            "SELECT customer_id FROM silver.customers WHERE business_date = ? ORDER BY 1",
            [day(1)],
        )
    assert rows == [("C1",), ("C2",)]
    assert loaded.evidence_digest(manifest.id) is None


def test_rejecting_discards_what_is_held(loaded):
    manifest = loaded.plan(
        reason="fix",
        requested_by="ann",
        requested_dates={"silver.customers": [day(i) for i in range(8)]},
    )
    with loaded.connect() as warehouse:
        before = warehouse.fetchall("SELECT * FROM silver.customers ORDER BY ALL")
    hold_customers(loaded.connect, loaded.lake, manifest.id, day(1), "C9")
    assert loaded.reject(manifest.id, "bob", "wrong FX file") == 1
    assert loaded.stage(manifest.id) == stages.REJECTED
    assert loaded.held(manifest.id) == []
    with loaded.connect() as warehouse:
        assert warehouse.fetchall("SELECT * FROM silver.customers ORDER BY ALL") == before


def test_a_backfill_under_the_threshold_needs_no_approval(loaded):
    manifest = loaded.plan(reason="fix", requested_by="ann", start=day(0), end=day(2))
    assert manifest.approvals_required == 0
    with pytest.raises(ManifestError, match="needs no approval"):
        loaded.approve(manifest.id, "bob", "sha256:x")


def test_stale_code_scopes_exactly_what_an_older_version_wrote(loaded, monkeypatch):
    with pytest.raises(BackfillError, match="nothing to backfill"):
        loaded.plan(reason="bug fix", requested_by="ann", stale_code=True)
    monkeypatch.setitem(registry.CODE_VERSIONS, "gold.daily_customer_summary", "2")
    manifest = loaded.plan(reason="bug fix", requested_by="ann", stale_code=True)
    assert {(r.asset, r.start, r.end) for r in manifest.ranges} == {
        ("gold.daily_customer_summary", day(0), day(3)),
        ("exports.partner_daily_export", day(0), day(3)),
    }


def test_rollback_refuses_when_a_later_day_was_built_on_the_backfill(engine, loaded, home):
    manifest = loaded.plan(reason="fix", requested_by="ann", start=day(1), end=day(2))
    before = query(home, "SELECT * FROM gold.account_daily_balance ORDER BY ALL")
    run_pipeline(
        engine, home, [day(1), day(2)], run_id="backfill-run", first=FIRST, manifest_id=manifest.id
    )
    run_pipeline(engine, home, [day(4)], run_id="daily-run", first=FIRST)
    with pytest.raises(BackfillError, match=f"gold.account_daily_balance {day(4)}"):
        loaded.rollback(manifest.id)
    restored = loaded.rollback(manifest.id, force=True)
    assert restored["gold.account_daily_balance"] == {
        day(i).isoformat(): restored["gold.account_daily_balance"][day(i).isoformat()]
        for i in (1, 2, 3)
    }
    after = query(
        home,
        f"SELECT * FROM gold.account_daily_balance WHERE business_date < DATE '{day(4)}' ORDER BY ALL",
    )
    assert after == [row for row in before if row[0] < day(4)]
    (event,) = [e for e in loaded.store.events(manifest.id) if e["event"] == "rolled_back"]
    assert event["to_recompute"] == [
        {"asset": "gold.account_daily_balance", "date": day(4).isoformat()}
    ]


def test_launch_without_a_webserver_says_how_to_start_one(loaded):
    from finsight_assets.lib.engines.webserver import WebserverUnavailable

    manifest = loaded.plan(reason="fix", requested_by="ann", start=day(1), end=day(1))
    with pytest.raises(WebserverUnavailable, match="make dev"):
        loaded.launch(manifest.id)
    assert loaded.store.backfill_ids(manifest.id) == []


def test_a_refused_rollback_leaves_every_table_untouched(engine, loaded, home):
    from finsight_assets.lib.tables.registry import TABLES
    from finsight_assets.lib.wap.model import PublishError

    manifest = loaded.plan(reason="fix", requested_by="ann", start=day(1), end=day(2))
    run_pipeline(
        engine, home, [day(1), day(2)], run_id="backfill-run", first=FIRST, manifest_id=manifest.id
    )
    run_pipeline(engine, home, [day(2)], run_id="later-run", first=FIRST)
    before = {
        t.qualified_name: query(home, f"SELECT * FROM {t.qualified_name} ORDER BY ALL")
        for t in TABLES
    }
    with pytest.raises(PublishError, match="republished since"):
        loaded.rollback(manifest.id)
    after = {
        t.qualified_name: query(home, f"SELECT * FROM {t.qualified_name} ORDER BY ALL")
        for t in TABLES
    }
    assert after == before
    assert not [e for e in loaded.store.events(manifest.id) if e["event"] == "rolled_back"]


def test_cancel_records_a_cancellation_only_when_something_ran(loaded):
    manifest = loaded.plan(reason="fix", requested_by="ann", start=day(1), end=day(1))
    assert loaded.cancel(manifest.id) == []
    assert [e["event"] for e in loaded.store.events(manifest.id)] == ["planned"]
    assert loaded.stage(manifest.id) == "planned"
    with pytest.raises(ManifestError):
        loaded.cancel("bf-unknown")


def test_cli_text_with_quotes_backslashes_and_semicolons_is_kept_verbatim(loaded):
    reason = "it's a \\ fix; DROP TABLE silver.customers; --"
    manifest = loaded.plan(reason=reason, requested_by="o'brien\\", start=day(1), end=day(1))
    stored = loaded.store.get(manifest.id)
    assert (stored.reason, stored.requested_by) == (reason, "o'brien\\")
    assert query_count(loaded) > 0


def query_count(backfills) -> int:
    with backfills.connect() as warehouse:
        return warehouse.fetchall("SELECT COUNT(*) FROM silver.customers")[0][0]


def test_a_rollback_supersedes_the_partner_files_the_backfill_wrote(engine, loaded, home):
    from finsight_assets.lib.engines.lake import LocalLake
    from finsight_assets.lib.layers.exports import write_partner_export

    lake = LocalLake(home / "lake")
    with loaded.connect() as warehouse:
        before = Path(write_partner_export(warehouse, lake, day(1))).read_bytes()
    generate_raw(home / "lake", day(1), day(1), rows_per_day=200, seed=41)
    manifest = loaded.plan(
        reason="corrected", requested_by="ann", start=day(1), end=day(1), allow_side_effects=True
    )
    run_pipeline(engine, home, [day(1)], run_id="bf", first=FIRST, manifest_id=manifest.id)
    with loaded.connect() as warehouse:
        path = Path(write_partner_export(warehouse, lake, day(1)))
    assert path.read_bytes() != before
    loaded.rollback(manifest.id)
    assert path.read_bytes() == before
    (event,) = [e for e in loaded.store.events(manifest.id) if e["event"] == "rolled_back"]
    assert event["exports_superseded"] == [str(path)]


def test_a_rollback_stopped_after_it_committed_is_finished_by_the_next(
    engine, loaded, home, monkeypatch
):
    manifest = loaded.plan(reason="fix", requested_by="ann", start=day(1), end=day(1))
    before = query(home, "SELECT * FROM silver.transactions ORDER BY ALL")
    run_pipeline(engine, home, [day(1)], run_id="bf", first=FIRST, manifest_id=manifest.id)
    record = loaded.store.record

    def killed_before_recording(manifest_id, event, *args, **kwargs):
        if event == "rolled_back":
            raise KeyboardInterrupt("killed")
        return record(manifest_id, event, *args, **kwargs)

    monkeypatch.setattr(loaded.store, "record", killed_before_recording)
    with pytest.raises(KeyboardInterrupt):
        loaded.rollback(manifest.id)
    monkeypatch.setattr(loaded.store, "record", record)
    assert not [e for e in loaded.store.events(manifest.id) if e["event"] == "rolled_back"]
    restored = loaded.rollback(manifest.id)
    assert set(restored) >= {"silver.transactions", "gold.account_daily_balance"}
    assert query(home, "SELECT * FROM silver.transactions ORDER BY ALL") == before
    assert [e["event"] for e in loaded.store.events(manifest.id)].count("rolled_back") == 1
    with pytest.raises(BackfillError, match="already rolled back"):
        loaded.rollback(manifest.id)
