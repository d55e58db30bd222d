"""A lane's warm Spark: a Spark Connect server started under the home, silver computed through it
as a thin client gives the rows an in-process session gives, and a server that is down is a
clear error, not a quiet cold start."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from datetime import date
from pathlib import Path

import dagster as dg
import pytest

from finsight_assets.defs.resources.local_spark import LocalSparkResource
from finsight_assets.dev.synthetic import generate_raw
from finsight_assets.lib.engines.owners import process_alive
from finsight_assets.lib.engines.spark import LocalSparkEngine
from finsight_assets.lib.engines.spark_connect import SparkServer, SparkServerDown
from finsight_assets.lib.settings import Settings
from finsight_assets.lib.tables.registry import TABLES
from finsight_assets_tests.pipeline import query, run_pipeline

DAY = date(2025, 3, 4)
FINSIGHT = str(Path(sys.executable).with_name("finsight"))


def published(home) -> dict[str, list[tuple]]:
    return {
        t.qualified_name: sorted(
            query(home, f"SELECT {', '.join(t.business_columns)} FROM {t.qualified_name}"),
            key=repr,
        )
        for t in TABLES
    }


def test_a_run_through_its_lanes_server_gives_the_in_process_rows(spark, home, tmp_path):
    generate_raw(home / "lake", DAY, DAY, rows_per_day=2000, seed=5)
    warm = tmp_path / "warm"
    shutil.copytree(home, warm)
    run_pipeline(LocalSparkEngine(spark), home, [DAY])
    env = {
        **os.environ,
        "FINSIGHT_HOME": str(warm),
        "FINSIGHT_START_DATE": DAY.isoformat(),
        "FINSIGHT_SILVER_ENGINE": "spark",
    }
    server = SparkServer(Settings.from_env(env).spark_servers, "daily")
    try:
        url = server.start()
        assert url.startswith("sc://127.0.0.1:") and server.answers()
        assert server.start() == url, "a second start keeps the server that answers"
        # A run worker is a process of its own: a thin client, with no local Spark beside it.
        day = DAY.isoformat()
        done = subprocess.run(
            [FINSIGHT, "-v", "materialize", "--start", day, "--end", day],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert f"Spark for the daily lane: its server at {url}" in done.stdout + done.stderr
        assert published(warm) == published(home)
        assert server.log is not None and server.log.is_file()
        pid = server.pid
        assert pid is not None
    finally:
        server.stop()
    assert server.url is None and not server.answers()
    assert server.pid is None and not process_alive(pid)


def test_a_server_started_by_a_process_that_ignores_sigterm_still_stops(home):
    settings = Settings.from_env()
    server = SparkServer(settings.spark_servers, "backfill")
    ignored = signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        server.start()
    finally:
        signal.signal(signal.SIGTERM, ignored)
        pid = server.pid
        server.stop()
    assert pid is not None and not process_alive(pid)


def test_a_lane_whose_server_is_down_fails_its_run_saying_so(home):
    settings = Settings.from_env()
    server = SparkServer(settings.spark_servers, "daily")
    server.folder.mkdir(parents=True)
    server.url_file.write_text("sc://127.0.0.1:9\n")
    resource = LocalSparkResource(spark_config={}, servers=str(settings.spark_servers))
    with pytest.raises(
        SparkServerDown, match="daily lane's Spark Connect server .*finsight spark start"
    ):
        resource.setup_for_execution(dg.build_init_resource_context())


def test_spark_status_says_a_lane_is_down_and_exits_1(home):
    settings = Settings.from_env()
    server = SparkServer(settings.spark_servers, "backfill")
    server.folder.mkdir(parents=True)
    server.url_file.write_text("sc://127.0.0.1:9\n")
    shown = subprocess.run(
        [FINSIGHT, "spark", "status"], env=dict(os.environ), capture_output=True, text=True
    )
    assert shown.returncode == 1
    assert "not started" in shown.stdout and "down" in shown.stdout
    wrong = subprocess.run(
        [FINSIGHT, "spark", "start", "--lane", "nightly"],
        env=dict(os.environ),
        capture_output=True,
        text=True,
    )
    assert wrong.returncode == 2 and "no lane 'nightly'" in wrong.stdout
