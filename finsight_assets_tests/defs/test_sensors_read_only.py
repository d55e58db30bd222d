"""Sensors that only read take no write lock: their ticks go on while another process reads the
DuckDB file (a read-write open would fail there), and a writer is kept out only while they read."""

from __future__ import annotations

import subprocess
import sys

import dagster as dg

from finsight_assets.defs.resources.local import DuckDBWarehouseResource, LocalLakeResource
from finsight_assets.defs.sensors import build_sensors
from finsight_assets.defs.sensors.ticks import WAREHOUSE_BUSY
from finsight_assets.lib.engines.duckdb_warehouse import duckdb_connector
from finsight_assets.lib.settings import Settings

# Holds a read-only connection to the file until told to stop.
READER = """
import sys, duckdb
connection = duckdb.connect(sys.argv[1], read_only=True)
print("in", flush=True)
sys.stdin.readline()
"""


def test_reading_sensors_tick_while_another_process_reads_the_warehouse(home):
    settings = Settings.from_env()
    with duckdb_connector(settings.warehouse_path)():
        pass
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(settings.warehouse_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert reader.stdout.readline().strip() == "in"
        resources = {
            "lake": LocalLakeResource(root=str(settings.lake)),
            "warehouse": DuckDBWarehouseResource(database=str(settings.warehouse_path)),
        }
        sensors = {s.name: s for s in build_sensors(settings)}
        with dg.instance_for_test() as instance:
            for name in ("raw_input_changes", "published_outside_runs", "backfill_evidence"):
                context = dg.build_sensor_context(instance=instance, resources=resources)
                result = sensors[name](context)
                skipped = getattr(result, "skip_message", None) or ""
                assert WAREHOUSE_BUSY not in skipped, name
    finally:
        reader.communicate("stop\n", timeout=30)


def test_before_the_warehouse_exists_reading_sensors_skip(home):
    settings = Settings.from_env()
    resources = {
        "lake": LocalLakeResource(root=str(settings.lake)),
        "warehouse": DuckDBWarehouseResource(database=str(settings.warehouse_path)),
    }
    (sensor,) = [s for s in build_sensors(settings) if s.name == "published_outside_runs"]
    with dg.instance_for_test() as instance:
        result = sensor(dg.build_sensor_context(instance=instance, resources=resources))
    assert isinstance(result, dg.SkipReason)
    assert not settings.warehouse_path.exists()
