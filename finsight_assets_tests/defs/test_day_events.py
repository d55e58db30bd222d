"""Each day of a range run is its own materialization in Dagster: its row count, version, lane,
mode, state and data versions (raw inputs' as observed), with a `live` verdict."""

from __future__ import annotations

from datetime import date, timedelta

import dagster as dg

from finsight_assets.cli.materialize import materialize_range, prepare_instance
from finsight_assets.dev.synthetic import generate_raw
from finsight_assets.lib.settings import Settings
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


def test_each_day_of_a_range_run_has_its_own_figures_and_data_versions(spark, home):
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
    for d in DAYS:
        silver = latest(instance, ["silver", "transactions"], d).asset_materialization
        (observed,) = instance.fetch_observations(
            dg.AssetRecordsFilter(
                asset_key=dg.AssetKey(["raw", "transactions"]), asset_partitions=[d.isoformat()]
            ),
            limit=1,
        ).records
        raw_version = observed.asset_observation.data_version
        assert silver.tags["dagster/input_data_version/raw/transactions"] == raw_version
        assert raw_version and raw_version != EMPTY_SHA256
        gold = latest(instance, ["gold", "daily_customer_summary"], d).asset_materialization
        assert (
            gold.tags["dagster/input_data_version/silver/transactions"]
            == (silver.tags["dagster/data_version"])
        )
