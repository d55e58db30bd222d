"""The production Dagster instance (deploy/prod/dagster.yaml) against a real PostgreSQL server.

The server is started by the test (postgres_server.py): no Postgres, no pass.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import dagster as dg
import pytest
import yaml
from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage, PostgresScheduleStorage

from finsight_assets_tests.prod.postgres_server import PostgresSettings, postgres_server

REPO = Path(__file__).resolve().parents[2]
PROD_YAML = REPO / "deploy" / "prod" / "dagster.yaml"
ROOT_YAML = REPO / "dagster.yaml"
# Sections of the root instance that are about where data lives, not how runs are scheduled.
STORAGE_SECTIONS = {"storage", "run_storage", "event_log_storage", "schedule_storage"}
LANE_SECTIONS = {"run_coordinator", "concurrency", "run_monitoring", "telemetry"}

DAILY = dg.DailyPartitionsDefinition(start_date="2025-03-01")
PARTITIONS = {"2025-03-01", "2025-03-02"}


@dg.asset(partitions_def=DAILY)
def probe_raw(context) -> int:
    return int(context.partition_key.replace("-", ""))


@dg.asset(partitions_def=DAILY)
def probe_total(probe_raw: int) -> int:
    return probe_raw * 2


PROBE_ASSETS = [probe_raw, probe_total]


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresSettings]:
    with postgres_server(dbname="dagster_prod_test") as settings:
        yield settings


@pytest.fixture
def instance(postgres, tmp_path, monkeypatch) -> Iterator[dg.DagsterInstance]:
    """The prod instance in a fresh DAGSTER_HOME, its DAGSTER_PG_* pointing at the test server."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copyfile(PROD_YAML, home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("DAGSTER_PG_USERNAME", postgres.user)
    monkeypatch.setenv("DAGSTER_PG_PASSWORD", postgres.password)
    monkeypatch.setenv("DAGSTER_PG_HOST", postgres.host)
    monkeypatch.setenv("DAGSTER_PG_DB", postgres.dbname)
    monkeypatch.setenv("DAGSTER_PG_PORT", str(postgres.port))
    with dg.DagsterInstance.from_config(str(home)) as loaded:
        yield loaded


def test_prod_yaml_names_no_secrets_and_keeps_the_root_lanes():
    prod = yaml.safe_load(PROD_YAML.read_text())
    root = yaml.safe_load(ROOT_YAML.read_text())
    db = prod["storage"]["postgres"]["postgres_db"]
    assert db == {
        "username": {"env": "DAGSTER_PG_USERNAME"},
        "password": {"env": "DAGSTER_PG_PASSWORD"},
        "hostname": {"env": "DAGSTER_PG_HOST"},
        "db_name": {"env": "DAGSTER_PG_DB"},
        "port": {"env": "DAGSTER_PG_PORT"},
        "scheme": "postgresql+psycopg2",
    }
    assert set(root) >= LANE_SECTIONS
    # Every scheduling section of the root instance, present and identical in prod.
    for section in set(root) - STORAGE_SECTIONS:
        assert prod.get(section) == root[section], section


def test_prod_instance_loads_on_postgres_with_the_root_lanes(instance, postgres):
    assert isinstance(instance.run_storage, PostgresRunStorage)
    assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
    assert isinstance(instance.schedule_storage, PostgresScheduleStorage)
    assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"

    lanes = yaml.safe_load(ROOT_YAML.read_text())["concurrency"]
    loaded = instance.get_concurrency_config()
    assert loaded.run_queue_config.max_concurrent_runs == lanes["runs"]["max_concurrent_runs"]
    assert loaded.run_queue_config.tag_concurrency_limits == lanes["runs"]["tag_concurrency_limits"]
    assert loaded.pool_config.default_pool_limit == lanes["pools"]["default_limit"]

    # Loading the instance created Dagster's schema in the test database.
    with closing(postgres.connect()) as conn, conn.cursor() as cursor:
        cursor.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
        )
        tables = {name for (name,) in cursor.fetchall()}
    assert {"runs", "event_logs", "asset_keys", "jobs", "job_ticks"} <= tables


def test_partitioned_materialization_is_recorded_in_postgres(instance, postgres):
    run_ids = []
    for partition in sorted(PARTITIONS):
        result = dg.materialize(PROBE_ASSETS, instance=instance, partition_key=partition)
        assert result.success
        assert result.output_for_node("probe_total") == 2 * int(partition.replace("-", ""))
        run_ids.append(result.run_id)

    keys = [dg.AssetKey("probe_raw"), dg.AssetKey("probe_total")]
    for key in keys:
        assert instance.get_materialized_partitions(key) == PARTITIONS
        records = instance.fetch_materializations(key, limit=10).records
        assert {record.partition_key for record in records} == PARTITIONS
    for run_id in run_ids:
        assert instance.get_run_by_id(run_id).status == dg.DagsterRunStatus.SUCCESS

    # The same facts, read straight from the PostgreSQL database the instance was pointed at.
    with closing(postgres.connect()) as conn, conn.cursor() as cursor:
        cursor.execute("SELECT run_id, status FROM runs WHERE run_id = ANY(%s)", (run_ids,))
        assert dict(cursor.fetchall()) == dict.fromkeys(run_ids, "SUCCESS")
        cursor.execute(
            "SELECT asset_key, partition FROM event_logs WHERE dagster_event_type = 'ASSET_MATERIALIZATION' AND run_id = ANY(%s)",
            (run_ids,),
        )
        landed = cursor.fetchall()
        cursor.execute("SELECT count(*) FROM event_logs WHERE run_id = ANY(%s)", (run_ids,))
        (events,) = cursor.fetchone()
    assert sorted(landed) == sorted((key.to_string(), p) for key in keys for p in PARTITIONS)
    assert events > len(landed)
