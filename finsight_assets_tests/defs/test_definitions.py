"""The code location's shape: assets, checks, jobs, schedule and instance configuration."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import yaml

from finsight_assets.defs.build import build_definitions
from finsight_assets.lib.settings import Settings
from finsight_assets.lib.tables.registry import CODE_VERSIONS, TABLES

REPO = Path(__file__).resolve().parents[2]


def load(home) -> dg.Definitions:
    return build_definitions(Settings.from_env())


def test_every_table_is_an_asset_with_description_code_version_and_checks(home):
    graph = load(home).resolve_asset_graph()
    for table in TABLES:
        key = dg.AssetKey([table.schema, table.name])
        node = graph.get(key)
        assert node.description, key
        assert node.code_version == CODE_VERSIONS[table.qualified_name]
        assert node.partitions_def.get_first_partition_key() == "2025-03-01"
        checks = {c.name for c in graph.get_check_keys_for_assets({key})}
        assert {"unique_key", "contract_schema", "diff_against_published"} <= checks, key
    for table in ("transactions", "fx_rates", "customers"):
        raw = graph.get(dg.AssetKey(["raw", table]))
        # Delivered upstream: external, neither computed nor observed by a function here.
        assert raw.is_external and not raw.is_materializable and raw.is_partitioned
    for name in ("daily_customer_summary", "segment_daily_report", "account_daily_balance"):
        assert graph.get(dg.AssetKey(["gold", name])).kinds == {"sql", "duckdb"}


def test_balance_depends_on_its_own_previous_day(home):
    graph = load(home).resolve_asset_graph()
    balance = dg.AssetKey(["gold", "account_daily_balance"])
    assert balance in graph.get(balance).parent_keys


def test_backfills_batch_days_but_run_the_balance_chain_whole(home, monkeypatch):
    monkeypatch.setenv("FINSIGHT_BACKFILL_DAYS_PER_RUN", "10")
    graph = load(home).resolve_asset_graph()
    silver = graph.get(dg.AssetKey(["silver", "transactions"])).backfill_policy
    balance = graph.get(dg.AssetKey(["gold", "account_daily_balance"])).backfill_policy
    assert silver.max_partitions_per_run == 10
    assert balance.max_partitions_per_run is None


def test_start_date_comes_from_the_environment(home, monkeypatch):
    monkeypatch.setenv("FINSIGHT_START_DATE", "2024-12-30")
    graph = load(home).resolve_asset_graph()
    partitions = graph.get(dg.AssetKey(["silver", "customers"])).partitions_def
    assert partitions.get_first_partition_key() == "2024-12-30"


def test_daily_schedule_runs_yesterday_on_the_daily_lane(home):
    defs = load(home)
    schedule = defs.get_schedule_def("daily_lakehouse_schedule")
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    at = datetime(2025, 3, 10, 7, 0, tzinfo=UTC)  # 02:00 or 03:00 in New York
    with dg.DagsterInstance.ephemeral() as instance:
        context = dg.build_schedule_context(instance=instance, scheduled_execution_time=at)
        data = schedule.evaluate_tick(context)
    (request,) = data.run_requests
    assert request.partition_key == "2025-03-09"
    assert request.tags["finsight/lane"] == "daily"
    assert int(request.tags["dagster/priority"]) > 0


def test_instance_config_queues_runs_and_limits_backfills(tmp_path):
    config = yaml.safe_load((REPO / "dagster.yaml").read_text())
    assert config["run_coordinator"]["class"] == "QueuedRunCoordinator"
    limits = config["concurrency"]["runs"]["tag_concurrency_limits"]
    assert {"key": "dagster/backfill", "limit": 2} in limits
    (tmp_path / "dagster.yaml").write_text((REPO / "dagster.yaml").read_text())
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
        # A daily run waits for the daemon's next look at the queue: part of its 10 s start.
        assert instance.run_coordinator.dequeue_interval_seconds == 1
