"""No way around the approval matrix, from every entry point: run tags set by hand, `finsight
materialize` and `dagster asset materialize` over published history, a run on other code than
its manifest's. Each against a copy of one home with eight published days (and two generated,
never published): the scenarios of `faults/matrix.py`."""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from finsight_assets.cli.main import app
from finsight_assets.cli.materialize import materialize_range
from finsight_assets.dev.synthetic import generate_raw
from finsight_assets.lib.contract.tables import BUSINESS_TIME_ZONE
from finsight_assets.lib.settings import Settings
from finsight_assets_tests.defs.test_materialize import dagster_asset_materialize
from finsight_assets_tests.faults import matrix
from finsight_assets_tests.faults.matrix import day
from finsight_assets_tests.pipeline import query


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    base = tmp_path_factory.mktemp("published") / "finsight"
    with pytest.MonkeyPatch.context() as env:
        env.setenv("FINSIGHT_HOME", str(base))
        env.setenv("FINSIGHT_START_DATE", matrix.FIRST.isoformat())
        env.delenv("FINSIGHT_ENV", raising=False)
        matrix.prepare(base)
    return base


@pytest.fixture
def copy(published, home):
    shutil.copytree(published, home)
    return home


def test_a_ui_style_backfill_run_tagged_live_is_refused_and_nothing_published_nor_exported(copy):
    outcome = matrix.live_tag_on_a_backfill_run(copy)
    assert outcome.held, outcome
    assert "run tag finsight/mode=LIVE on a run of backfill handmade" in outcome.said
    assert outcome.changed == [] and outcome.exported == []


def test_a_manifest_run_tagged_live_is_refused(copy):
    outcome = matrix.live_tag_on_a_manifest_run(copy)
    assert outcome.held, outcome
    assert "with finsight/mode=LIVE: manifest bf-" in outcome.said
    assert "runs as BACKFILL" in outcome.said


def test_a_manifest_tag_naming_no_manifest_is_refused(copy):
    outcome = matrix.manifest_tag_naming_none(copy)
    assert outcome.held, outcome
    assert (
        "run tag finsight/manifest_id=bf-nowhere: no manifest bf-nowhere in the operations store"
        in outcome.said
    )


def test_a_manifest_needing_no_approval_does_not_let_another_range_through(copy):
    outcome = matrix.small_manifest_over_another_range(copy)
    assert outcome.held, outcome
    assert f"does not cover silver.transactions {day(1)}..{day(3)}" in outcome.said
    assert outcome.changed == []


def test_a_manifest_written_by_hand_asking_no_approval_runs_nothing(copy):
    outcome = matrix.forged_manifest(copy)
    assert outcome.held, outcome
    assert "records 0 approval(s) required, but its own scope needs 1" in outcome.said
    assert outcome.changed == []


def test_a_run_on_other_code_than_its_manifest_refuses_naming_the_table(copy):
    outcome = matrix.code_not_the_manifests(copy)
    assert outcome.held, outcome
    assert "code version of silver.transactions: planned 1, now 1-changed" in outcome.said
    assert outcome.changed == []


def test_finsight_materialize_over_published_history_takes_a_manifest(copy):
    before = query(copy, "SELECT table_name, business_date, version_id FROM audit.current_versions")
    refused = CliRunner().invoke(
        app, ["materialize", "--start", day(1).isoformat(), "--end", day(2).isoformat()]
    )
    said = " ".join(refused.output.split())
    assert refused.exit_code == 1, refused.output
    assert f"would replace published history: gold.account_daily_balance {day(1)}..{day(7)}" in said
    assert f"silver.transactions {day(1)}..{day(2)}" in said
    after = query(copy, "SELECT table_name, business_date, version_id FROM audit.current_versions")
    assert sorted(after) == sorted(before)

    manifest = matrix.backfills().plan(
        reason="restate", requested_by="ann", start=day(6), end=day(7)
    )
    done = CliRunner().invoke(
        app,
        [
            "materialize",
            "--start",
            day(6).isoformat(),
            "--end",
            day(7).isoformat(),
            "--manifest",
            manifest.id,
        ],
    )
    assert done.exit_code == 0, done.output
    restated = query(
        copy,
        "SELECT DISTINCT v.table_name FROM audit.partition_versions v JOIN audit.current_versions c "
        f"USING (version_id) WHERE v.manifest_id = '{manifest.id}'",
    )
    assert ("silver.transactions",) in restated and ("gold.account_daily_balance",) in restated


def test_never_published_days_stay_free(copy):
    outcome = matrix.never_published_days_stay_free(copy)
    assert outcome.held, outcome


def test_dagster_asset_materialize_over_published_history_is_refused(copy):
    before = query(copy, "SELECT table_name, business_date, version_id FROM audit.current_versions")
    done = dagster_asset_materialize(copy, day(1), day(2))
    said = " ".join((done.stdout + done.stderr).split())
    assert done.returncode != 0, said[-3000:]
    assert "would replace published history" in said, said[-3000:]
    after = query(copy, "SELECT table_name, business_date, version_id FROM audit.current_versions")
    assert sorted(after) == sorted(before)


def test_a_six_day_request_early_in_the_range_needs_approval_for_its_roll_forward(copy):
    outcome = matrix.early_request_rolls_forward(copy)
    assert outcome.held, outcome
    assert outcome.scenario == f"6 requested days rolled forward to {day(7)}"
    assert outcome.approvals == [1]


def test_the_daily_lanes_own_day_stays_free(home, monkeypatch):
    """Yesterday in New York, the schedule's partition: materialized again without a manifest."""
    yesterday = datetime.now(ZoneInfo(BUSINESS_TIME_ZONE)).date() - timedelta(days=1)
    monkeypatch.setenv("FINSIGHT_START_DATE", yesterday.isoformat())
    generate_raw(home / "lake", yesterday, yesterday, rows_per_day=200, seed=5)
    settings = Settings.from_env()
    assert [o.success for o in materialize_range(settings, yesterday, yesterday)] == [True]
    (again,) = materialize_range(settings, yesterday, yesterday)
    assert again.success, again.errors
    runs = query(home, "SELECT DISTINCT _run_id FROM silver.transactions")
    assert runs == [(again.run_id,)]
