"""Each day of a range run is its own materialization in Dagster: its row count, version, lane,
mode, state and data versions (raw inputs' as observed), with a `live` verdict."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

import dagster as dg

# What the UI's "Unsynced" reads, asked in process.
from dagster._core.definitions.data_version import CachingStaleStatusResolver
from dagster._core.loader import LoadingContextForTest

from finsight_assets.cli.materialize import materialize_range, prepare_instance
from finsight_assets.defs.build import build_definitions
from finsight_assets.defs.checks import check_evaluations
from finsight_assets.defs.report_outside_runs import REPORT_JOB
from finsight_assets.dev.synthetic import generate_raw
from finsight_assets.lib.settings import Settings
from finsight_assets.lib.tables.registry import TABLES
from finsight_assets.lib.tables.silver_transactions import SILVER_TRANSACTIONS
from finsight_assets.lib.wap.checks import checks_of
from finsight_assets.lib.wap.model import AuditResult
from finsight_assets_tests.faults.matrix import backfills
from finsight_assets_tests.pipeline import query

START = date(2025, 3, 1)
EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
DAYS = [START + timedelta(days=i) for i in range(3)]


def latest(instance: dg.DagsterInstance, key: list[str], day: date) -> dg.EventLogRecord:
    (record,) = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey(key), asset_partitions=[day.isoformat()]),
        limit=1,
    ).records
    return record


def live_verdicts(instance: dg.DagsterInstance, key: list[str]) -> dict[str, object]:
    check = dg.AssetCheckKey(dg.AssetKey(key), "live")
    return {
        r.partition: r
        for r in reversed(instance.event_log_storage.get_asset_check_execution_history(check, 50))
    }


def test_each_day_of_a_range_run_has_its_own_figures_and_data_versions(home):
    generate_raw(home / "lake", START, DAYS[-1], rows_per_day=300, seed=5)
    settings = Settings.from_env()
    assert [o.success for o in materialize_range(settings, DAYS[0], DAYS[-1])] == [True]
    instance = prepare_instance(settings)
    published = dict(
        ((t, d), (rows, checksum))
        for t, d, rows, checksum in query(
            home,
            "SELECT c.table_name, c.business_date, v.row_count, v.checksum "
            "FROM audit.current_versions c JOIN audit.partition_versions v USING (version_id)",
        )
    )
    for key in (["silver", "transactions"], ["gold", "account_daily_balance"]):
        name = ".".join(key)
        versions = set()
        for d in DAYS:
            event = latest(instance, key, d).asset_materialization
            rows, checksum = published[(name, d)]
            assert event.metadata["dagster/row_count"].value == rows, (name, d)
            assert event.metadata["lane"].value == "daily"
            assert event.metadata["mode"].value == "LIVE"
            assert event.metadata["state"].value == "published"
            assert event.tags["dagster/data_version"] == checksum
            versions.add(checksum)
        assert len(versions) == len(DAYS), name
        verdicts = live_verdicts(instance, key)
        assert all(verdicts[d.isoformat()].status.value == "SUCCEEDED" for d in DAYS), name
    # Dagster's staleness reads those versions: after a clean publish no day reads "Unsynced".
    assert unsynced(settings, instance, DAYS) == []
    for d in DAYS:
        silver = latest(instance, ["silver", "transactions"], d).asset_materialization
        # A landed raw day is a materialization of the external raw asset (`defs/raw`).
        landed = latest(instance, ["raw", "transactions"], d).asset_materialization
        raw_version = landed.tags["dagster/data_version"]
        assert silver.tags["dagster/input_data_version/raw/transactions"] == raw_version
        assert raw_version and raw_version != EMPTY_SHA256
        gold = latest(instance, ["gold", "daily_customer_summary"], d).asset_materialization
        assert (
            gold.tags["dagster/input_data_version/silver/transactions"]
            == (silver.tags["dagster/data_version"])
        )


def unsynced(
    settings: Settings,
    instance: dg.DagsterInstance,
    days: list[date],
    names: Sequence[str] = tuple(t.qualified_name for t in TABLES),
) -> list:
    """The days of the assets named (silver and gold unless told) the UI would show
    "Unsynced", with why."""
    stale = CachingStaleStatusResolver(
        instance, build_definitions(settings).resolve_asset_graph(), LoadingContextForTest(instance)
    )
    found = []
    for name in names:
        key = dg.AssetKey(name.split("."))
        for d in days:
            if stale.get_status(key, d.isoformat()).value != "FRESH":
                found.append((key, d, stale.get_stale_causes(key, d.isoformat())))
    return found


def verdicts_on(instance: dg.DagsterInstance, key: list[str], day: date) -> dict[str, str]:
    """Each check's verdict on the day's latest materialization: its status, or "Missing" when
    its latest evaluation judged another materialization (what the UI shows then)."""
    latest_storage_id = latest(instance, key, day).storage_id
    found = {}
    for check in checks_of(".".join(key)):
        found[check.name] = "Missing"
    found["live"] = "Missing"
    for name in found:
        history = instance.event_log_storage.get_asset_check_execution_history(
            dg.AssetCheckKey(dg.AssetKey(key), name), limit=200
        )
        mine = [r for r in history if r.partition == day.isoformat()]
        if not mine:
            continue
        evaluation = mine[0].event.dagster_event.asset_check_evaluation_data
        target = evaluation.target_materialization_data
        if target is not None and target.storage_id == latest_storage_id:
            found[name] = mine[0].status.value
    return found


def report_outside_runs(
    settings: Settings, instance: dg.DagsterInstance, cursor: str | None
) -> str | None:
    """One tick of the sensor from `cursor`, and the run it asks for, in this process; the
    sensor's new cursor."""
    definitions = build_definitions(settings)
    (sensor,) = [s for s in definitions.sensors if s.name == "published_outside_runs"]
    context = dg.build_sensor_context(
        instance=instance, resources=definitions.resources, cursor=cursor
    )
    request = sensor(context)
    assert isinstance(request, dg.RunRequest), request
    result = definitions.resolve_job_def(REPORT_JOB).execute_in_process(
        run_config=request.run_config, instance=instance, tags=request.tags
    )
    assert result.success
    return context.cursor


def test_held_days_are_not_live_and_each_publish_outside_a_run_reports_every_check(home):
    last = DAYS[0] + timedelta(days=7)
    days = [DAYS[0] + timedelta(days=i) for i in range(8)]
    generate_raw(home / "lake", DAYS[0], last, rows_per_day=200, seed=8)
    settings = Settings.from_env()
    assert [o.success for o in materialize_range(settings, DAYS[0], last)] == [True]
    ops = backfills()
    manifest = ops.plan(reason="again", requested_by="ann", start=DAYS[0], end=last)
    assert manifest.approvals_required == 1
    assert [o.success for o in materialize_range(settings, DAYS[0], last, tags=manifest.run_tags())]
    instance = prepare_instance(settings)
    key = ["silver", "customers"]
    live_before = {
        d: rows
        for d, rows in query(
            home,
            "SELECT c.business_date, v.row_count FROM audit.current_versions c "
            "JOIN audit.partition_versions v USING (version_id) "
            "WHERE c.table_name = 'silver.customers'",
        )
    }
    for d in days:
        event = latest(instance, key, d).asset_materialization
        assert event.metadata["state"].value == "held for approval"
        assert event.metadata["published"].value is False
        assert event.metadata["manifest_id"].value == manifest.id
        assert event.metadata["dagster/row_count"].value > 0
        assert event.description.startswith(f"HELD for approval of {manifest.id}")
        assert verdicts_on(instance, key, d)["live"] == "FAILED"
        (live,) = [
            r
            for r in instance.event_log_storage.get_asset_check_execution_history(
                dg.AssetCheckKey(dg.AssetKey(key), "live"), limit=50
            )
            if r.partition == d.isoformat()
        ][:1]
        text = live.event.dagster_event.asset_check_evaluation_data.description
        assert f"({live_before[d]:,} rows)" in text and "not live" in text

    ops.approve(manifest.id, "bob", ops.evidence_digest(manifest.id))
    cursor = report_outside_runs(settings, instance, None)
    published = published_rows(home, "silver.customers")
    for d in days:
        event = latest(instance, key, d).asset_materialization
        assert event.description == f"live: published on approval of {manifest.id} by bob"
        assert event.metadata["dagster/row_count"].value == published[d][0]
        assert event.tags["dagster/data_version"] == published[d][1]
        assert (event.metadata["lane"].value, event.metadata["mode"].value) == (
            "backfill",
            "BACKFILL",
        )
        assert event.metadata["manifest_id"].value == manifest.id
        assert set(verdicts_on(instance, key, d).values()) == {"SUCCEEDED"}, d
    # The balance days rolled forward on approval read as synced too.
    assert unsynced(settings, instance, days) == []

    # Published outside a run a second time: the rollback restores the earlier versions.
    ops.rollback(manifest.id)
    report_outside_runs(settings, instance, cursor)
    restored = published_rows(home, "silver.customers")
    for d in days:
        event = latest(instance, key, d).asset_materialization
        assert event.description == "live: restored by a rollback"
        assert event.metadata["dagster/row_count"].value == restored[d][0]
        assert set(verdicts_on(instance, key, d).values()) == {"SUCCEEDED"}, d


def published_rows(home, table: str) -> dict[date, tuple[int, str]]:
    return {
        d: (rows, checksum)
        for d, rows, checksum in query(
            home,
            "SELECT c.business_date, v.row_count, v.checksum FROM audit.current_versions c "
            f"JOIN audit.partition_versions v USING (version_id) WHERE c.table_name = '{table}'",
        )
    }


def test_each_check_figure_is_a_number_of_its_day_with_a_summary_of_that_day():
    first, second = DAYS[0], DAYS[1]
    result = AuditResult(
        name="count_identity",
        passed=True,
        summary="raw = valid + rejected + duplicate on every partition",
        metadata={
            "by_date": {
                first.isoformat(): {"raw": 20011, "valid": 20011, "rejected": 0, "staged": 20011},
                second.isoformat(): {"raw": 12, "valid": 10, "rejected": 2, "staged": 10},
            }
        },
        by_date={first: True, second: True},
    )
    duplicates = AuditResult(
        name="unique_key",
        passed=False,
        summary="3 duplicated key(s)",
        metadata={"duplicated_keys": {second.isoformat(): 3}},
        by_date={first: True, second: False},
    )
    others = [
        AuditResult(name, True, "fine") for name in ("contract_schema", "diff_against_published")
    ]
    one, two, clean, dirty, *_ = check_evaluations(
        SILVER_TRANSACTIONS, [result, duplicates, *others], [first, second]
    )
    assert one.metadata["raw"] == dg.MetadataValue.int(20011)
    assert two.metadata["rejected"] == dg.MetadataValue.int(2)
    assert one.description == f"{first}: raw 20,011, valid 20,011, rejected 0, staged 20,011"
    assert "every partition" not in two.description
    assert clean.metadata["duplicated_keys"] == dg.MetadataValue.int(0)
    assert dirty.metadata["duplicated_keys"] == dg.MetadataValue.int(3)
