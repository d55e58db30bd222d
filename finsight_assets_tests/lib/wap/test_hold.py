"""Held publishes: a backfill that needs approval computes and audits, holds, and on approval
publishes exactly what a direct backfill would, refusing what moved meanwhile."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from finsight_assets.dev.synthetic import generate_raw, redeliver_corrections
from finsight_assets.lib.backfills import events
from finsight_assets.lib.backfills.store import ManifestStore
from finsight_assets.lib.contract.run_tags import BACKFILL
from finsight_assets.lib.engines.duckdb_warehouse import duckdb_connector
from finsight_assets.lib.engines.lake import LocalLake
from finsight_assets.lib.layers.silver_inputs import input_now
from finsight_assets.lib.tables.registry import CODE_VERSIONS
from finsight_assets.lib.wap import publish as publishing
from finsight_assets.lib.wap.held_publish import publish_held
from finsight_assets.lib.wap.held_versions import held_versions
from finsight_assets.lib.wap.hold import discard_held
from finsight_assets.lib.wap.model import RunInfo
from finsight_assets.lib.wap.publish_history import unreported_changes
from finsight_assets_tests.pipeline import query, run_pipeline

FIRST = date(2025, 3, 1)
DAYS = [FIRST + timedelta(days=i) for i in range(5)]
CORRECTED = DAYS[1:3]
APPROVED_AT = datetime(2025, 6, 2, 9, 0, tzinfo=UTC)
MANIFEST = "bf-held-1"


def _published(home) -> dict[tuple[str, date], tuple[str, int, str]]:
    """(table, date) -> (version id, rows, checksum) published now."""
    return {
        (t, d): (v, n, c)
        for t, d, v, n, c in query(
            home,
            "SELECT c.table_name, c.business_date, c.version_id, v.row_count, v.checksum "
            "FROM audit.current_versions c JOIN audit.partition_versions v USING (version_id)",
        )
    }


def _table_rows(home) -> dict[str, list[tuple]]:
    names = ["silver.transactions", "gold.daily_customer_summary", "gold.account_daily_balance"]
    return {name: query(home, f"SELECT * FROM {name} ORDER BY ALL") for name in names}


def _publish(home, manifest_id=MANIFEST):
    lake = LocalLake(home / "lake")
    with duckdb_connector(home / "warehouse.duckdb")() as warehouse:
        return publish_held(
            warehouse,
            manifest_id,
            RunInfo(f"approve-{manifest_id}", BACKFILL, APPROVED_AT, manifest_id),
            CODE_VERSIONS | {name: "1" for name in CODE_VERSIONS},
            lambda table, d: input_now(lake, table, d),
        )


def _held(home, manifest_id=MANIFEST):
    with duckdb_connector(home / "warehouse.duckdb")() as warehouse:
        return held_versions(warehouse, manifest_id)


@pytest.fixture
def corrected(engine, home):
    """Five published days, then corrected deliveries for two of them."""
    generate_raw(home / "lake", DAYS[0], DAYS[-1], rows_per_day=150, seed=11)
    run_pipeline(engine, home, DAYS)
    redeliver_corrections(home / "lake", CORRECTED, Decimal("1.00"))
    return home


def test_a_held_backfill_changes_nothing_until_approved_then_publishes_what_a_direct_one_would(
    engine, corrected, tmp_path
):
    home = corrected
    before, rows_before = _published(home), _table_rows(home)
    run_pipeline(engine, home, CORRECTED, run_id="held-run", manifest_id=MANIFEST, hold=True)

    assert _published(home) == before and _table_rows(home) == rows_before
    held = {(h.version.table_name, h.version.business_date): h for h in _held(home)}
    # Gold reads the held silver: the balance rolls forward to the last published day.
    assert {d for t, d in held if t == "gold.account_daily_balance"} == set(DAYS[1:])
    assert {d for t, d in held if t == "silver.transactions"} == set(CORRECTED)
    summary = held[("gold.daily_customer_summary", CORRECTED[0])]
    assert summary.sources["silver.transactions"] == (
        held[("silver.transactions", CORRECTED[0])].version.version_id
    )

    outcome = _publish(home)
    assert not outcome.refused
    after = _published(home)
    assert {(v.table_name, v.business_date) for v in outcome.published} == set(held)
    for key, h in held.items():
        assert after[key] == (h.version.version_id, h.version.row_count, h.version.checksum)
    assert not _held(home)

    # The same corrected inputs through a direct backfill give the same rows, day by day.
    direct = tmp_path / "direct"
    generate_raw(direct / "lake", DAYS[0], DAYS[-1], rows_per_day=150, seed=11)
    run_pipeline(engine, direct, DAYS)
    redeliver_corrections(direct / "lake", CORRECTED, Decimal("1.00"))
    run_pipeline(engine, direct, CORRECTED, run_id="direct-run", manifest_id="bf-direct")
    direct_published = _published(direct)
    assert {k: v[1:] for k, v in after.items()} == {k: v[1:] for k, v in direct_published.items()}
    assert {k: v[1:] for k, v in after.items() if k in held} != {
        k: v[1:] for k, v in before.items() if k in held
    }


def test_publish_refuses_what_the_daily_lane_republished_and_names_it(engine, corrected):
    home = corrected
    run_pipeline(engine, home, CORRECTED, run_id="held-run", manifest_id=MANIFEST, hold=True)
    # Meanwhile the daily lane republishes the second corrected day (from the same delivery).
    run_pipeline(engine, home, [CORRECTED[1]], run_id="daily-run", first=FIRST)
    during = _published(home)

    outcome = _publish(home)
    refused = set(outcome.refused)
    assert ("silver.transactions", CORRECTED[1]) in refused
    assert ("silver.transactions", CORRECTED[0]) not in refused
    assert (
        "published by another run meanwhile"
        in outcome.refused[("silver.transactions", CORRECTED[1])]
    )
    # The balance chain publishes whole or not at all.
    chain = {d for t, d in refused if t == "gold.account_daily_balance"}
    assert chain == set(DAYS[1:])
    after = _published(home)
    for key in refused:
        assert after[key] == during[key]
    assert (
        after[("silver.transactions", CORRECTED[0])]
        != during[("silver.transactions", CORRECTED[0])]
    )
    assert not _held(home)


def test_publish_refuses_a_day_whose_raw_input_changed_after_it_was_held(engine, corrected):
    home = corrected
    run_pipeline(engine, home, CORRECTED, run_id="held-run", manifest_id=MANIFEST, hold=True)
    redeliver_corrections(home / "lake", [CORRECTED[0]], Decimal("2.00"))
    outcome = _publish(home)
    why = outcome.refused[("silver.transactions", CORRECTED[0])]
    assert "raw input" in why and str(CORRECTED[0]) in why
    assert ("gold.daily_customer_summary", CORRECTED[0]) in outcome.refused
    assert ("silver.transactions", CORRECTED[1]) not in outcome.refused


def test_rejecting_discards_the_held_versions_and_touches_nothing_published(engine, corrected):
    home = corrected
    before, rows_before = _published(home), _table_rows(home)
    run_pipeline(engine, home, CORRECTED, run_id="held-run", manifest_id=MANIFEST, hold=True)
    with duckdb_connector(home / "warehouse.duckdb")() as warehouse:
        after_seq = unreported_changes(warehouse, 0)[1]
        discarded = discard_held(warehouse, MANIFEST, APPROVED_AT, "rejected")
        changes, _ = unreported_changes(warehouse, after_seq)
    assert discarded and not _held(home)
    held_rows = "SELECT COUNT(*) FROM versions.silver__transactions WHERE _run_id = 'held-run'"
    assert query(home, held_rows) == [(0,)]
    assert _published(home) == before and _table_rows(home) == rows_before
    assert _publish(home).published == []
    # Each discarded day is a change no Dagster step reported, naming the day's live version.
    held_days = {(h.version.table_name, h.version.business_date) for h in discarded}
    assert {(c.table_name, c.business_date) for c in changes} == held_days
    for change in changes:
        live, rows, _ = before[(change.table_name, change.business_date)]
        assert change.action == "discard" and change.manifest_id == MANIFEST
        assert (change.version_id, change.row_count) == (live, rows)
        assert change.run_id == "run-1"


def test_a_run_of_a_manifest_cancelled_between_staging_and_holding_holds_nothing(
    engine, corrected, monkeypatch
):
    """A run that finishes after its backfill was cancelled (a race with the cancel) holds
    nothing: the hold reads the cancellation under the locks it holds with."""
    home = corrected
    before = _published(home)
    store = ManifestStore(duckdb_connector(home / "warehouse.duckdb"))
    stats = publishing.partition_stats

    def cancelled_meanwhile(warehouse, staged):
        if not store.events(MANIFEST):
            store.record(MANIFEST, events.CANCELLED, APPROVED_AT, by="bob", backfill_ids=["x"])
        return stats(warehouse, staged)

    monkeypatch.setattr(publishing, "partition_stats", cancelled_meanwhile)
    run_pipeline(engine, home, CORRECTED, run_id="late-run", manifest_id=MANIFEST, hold=True)
    assert store.events(MANIFEST) and not _held(home)
    held_rows = "SELECT COUNT(*) FROM versions.silver__transactions WHERE _run_id = 'late-run'"
    assert query(home, held_rows) == [(0,)]
    assert _published(home) == before


def test_a_later_hold_of_a_partition_replaces_the_earlier_one(engine, corrected):
    home = corrected
    run_pipeline(engine, home, CORRECTED, run_id="held-run", manifest_id=MANIFEST, hold=True)
    first = {(h.version.table_name, h.version.business_date): h for h in _held(home)}
    run_pipeline(engine, home, CORRECTED[1:], run_id="retry-run", manifest_id=MANIFEST, hold=True)
    second = {(h.version.table_name, h.version.business_date): h for h in _held(home)}
    assert set(second) == set(first)
    key = ("silver.transactions", CORRECTED[1])
    assert second[key].version.run_id == "retry-run"
    assert (
        second[("silver.transactions", CORRECTED[0])]
        == first[("silver.transactions", CORRECTED[0])]
    )
    held_rows = query(
        home,
        "SELECT COUNT(DISTINCT _version_id) FROM versions.silver__transactions "
        "WHERE _run_id IN ('held-run', 'retry-run')",
    )
    assert held_rows == [(len(CORRECTED),)]
    outcome = _publish(home)
    assert not outcome.refused, outcome.refused
    assert replace(second[key].version, published_at=APPROVED_AT) in outcome.published
