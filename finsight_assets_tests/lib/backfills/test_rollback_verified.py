"""A rollback restores a version only as it was recorded, and checks under its locks what was
built on top: `prune-history` then two backfills rolled back in turn, a version whose history
rows are gone or were edited behind the code's back, a daily run publishing on top of the
backfill while its rollback starts."""

from __future__ import annotations

import json
from contextlib import contextmanager
from datetime import UTC, date, datetime

import pytest
from typer.testing import CliRunner

from finsight_assets.cli.main import app
from finsight_assets.lib.backfills import rollback as backfill_rollback
from finsight_assets.lib.backfills.manifests import BackfillError
from finsight_assets.lib.backfills.operations import Backfills
from finsight_assets.lib.contract.run_tags import BACKFILL, LIVE
from finsight_assets.lib.layers import gold
from finsight_assets.lib.tables.gold_account_daily_balance import GOLD_ACCOUNT_DAILY_BALANCE
from finsight_assets.lib.wap import retention
from finsight_assets.lib.wap.model import PublishError, RunInfo
from finsight_assets.lib.wap.versions import current_versions
from finsight_assets_tests.held import home_backfills, publish_live
from finsight_assets_tests.lib.layers.test_bound_dates import DAY1, DAY2
from finsight_assets_tests.lib.wap.test_publish import publish_customers
from finsight_assets_tests.lib.wap.test_retention import backfill

CLOCK = datetime(2025, 3, 10, 9, 0, tzinfo=UTC)
DAY = date(2025, 3, 3)
CUSTOMERS = "silver.customers"


@pytest.fixture
def backfills(home) -> Backfills:
    return home_backfills()


def plan_day(backfills: Backfills, asset: str = CUSTOMERS, day: date = DAY) -> str:
    manifest = backfills.plan(reason="fix", requested_by="ann", requested_dates={asset: [day]})
    return manifest.id


def three_versions(backfills: Backfills):
    """The daily lane's version of DAY, then two backfills' versions of it, one on the other."""
    first, second = plan_day(backfills), plan_day(backfills)
    with backfills.connect() as warehouse:
        _, (daily,) = publish_customers(warehouse, "daily", DAY, ("C1", "RETAIL"))
        (v1,) = backfill(warehouse, first, DAY, ("C1", "SMB"))
        (v2,) = backfill(warehouse, second, DAY, ("C1", "CORPORATE"))
    return (first, second), (daily, v1, v2)


def partition(backfills: Backfills):
    with backfills.connect() as warehouse:
        rows = warehouse.fetchall(f"SELECT customer_id, segment FROM {CUSTOMERS} ORDER BY 1")
        return current_versions(warehouse, CUSTOMERS, [DAY]).get(DAY), rows


def test_prune_history_then_two_backfills_rolled_back_in_turn_restores_the_first_rows(backfills):
    (first, second), (daily, _, _) = three_versions(backfills)
    pruned = CliRunner().invoke(
        app, ["backfill", "prune-history", "--older-than-days", "30", "--json"]
    )
    assert pruned.exit_code == 0, pruned.output
    # The first backfill's rollback restores the daily version: its rows are kept.
    assert daily.version_id not in {v["version_id"] for v in json.loads(pruned.output)["versions"]}
    backfills.rollback(second)
    backfills.rollback(first)
    assert partition(backfills) == (daily.version_id, [("C1", "RETAIL")])


def test_a_rollback_whose_version_was_pruned_refuses_naming_it_and_changes_nothing(backfills):
    (first, second), (daily, v1, _) = three_versions(backfills)
    # Pruned as an earlier release's retention pruned it (it kept only what a current
    # version replaced).
    with backfills.connect() as warehouse:
        gone = retention.Prunable(CUSTOMERS, DAY, daily.version_id, CLOCK)
        assert retention.prune(warehouse, [gone], CLOCK) == {CUSTOMERS: 1}
    backfills.rollback(second)
    before = partition(backfills)
    assert before == (v1.version_id, [("C1", "SMB")])
    with pytest.raises(PublishError) as refused:
        backfills.rollback(first)
    assert daily.version_id in str(refused.value) and "pruned" in str(refused.value)
    assert partition(backfills) == before
    assert [e["event"] for e in backfills.store.events(first)].count("rolled_back") == 0


def test_a_rollback_onto_replaced_rows_edited_behind_the_codes_back_refuses(backfills):
    (first, _), (daily, v1, v2) = three_versions(backfills)
    with backfills.connect() as warehouse:
        warehouse.execute(
            "UPDATE versions.silver__customers SET segment = 'SMB' WHERE _version_id = ?",
            [daily.version_id],
        )
    before = partition(backfills)
    with pytest.raises(PublishError) as refused:
        backfills.rollback(first, force=True)
    assert daily.version_id in str(refused.value) and "checksum" in str(refused.value)
    assert partition(backfills) == before == (v2.version_id, [("C1", "CORPORATE")])


def test_a_rollback_sees_a_day_built_on_the_backfill_while_it_waited_for_its_lock(
    backfills, monkeypatch
):
    balance = GOLD_ACCOUNT_DAILY_BALANCE
    publish_live(backfills.connect)
    with backfills.connect() as warehouse:
        gold.build_gold(warehouse, RunInfo("daily-1", LIVE, CLOCK), balance, [DAY1], "1", DAY1)
    manifest_id = plan_day(backfills, balance.qualified_name, DAY1)
    with backfills.connect() as warehouse:
        run = RunInfo("bf-run", BACKFILL, CLOCK, manifest_id)
        gold.build_gold(warehouse, run, balance, [DAY1], "1", DAY1)
    locked_transaction = backfill_rollback.locked_transaction

    @contextmanager
    def the_daily_lane_publishes_first(warehouse, tables, run):
        # The next day, opened from the backfill's DAY1, lands before the rollback's lock.
        with backfills.connect() as daily:
            gold.build_gold(daily, RunInfo("daily-2", LIVE, CLOCK), balance, [DAY2], "1", DAY1)
        with locked_transaction(warehouse, tables, run):
            yield

    monkeypatch.setattr(backfill_rollback, "locked_transaction", the_daily_lane_publishes_first)
    with backfills.connect() as warehouse:
        before = current_versions(warehouse, balance.qualified_name)
    with pytest.raises(BackfillError, match=f"{balance.qualified_name} {DAY2}"):
        backfills.rollback(manifest_id)
    with backfills.connect() as warehouse:
        after = current_versions(warehouse, balance.qualified_name)
    assert after[DAY1] == before[DAY1] and DAY2 in after
