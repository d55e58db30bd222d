"""A Dagster webserver and daemon on 127.0.0.1 over one FINSIGHT_HOME (for the demo and tests)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from finsight_assets.lib.engines.ports import free_port
from finsight_assets.lib.engines.spark_connect import SparkServer, servers
from finsight_assets.lib.engines.webserver import DagsterWebserver
from finsight_assets.lib.settings import REPOSITORY_ROOT, SILVER_SPARK, Settings

BIN = Path(sys.executable).parent


@dataclass
class DagsterStack:
    home: Path
    url: str
    env: dict[str, str]
    processes: list[subprocess.Popen]
    spark_servers: list[SparkServer]

    @property
    def webserver(self) -> DagsterWebserver:
        return DagsterWebserver(self.url)

    def finsight(self, *args: str, timeout: float = 900) -> subprocess.CompletedProcess:
        """Run the `finsight` command against this stack."""
        return subprocess.run(
            [str(BIN / "finsight"), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=REPOSITORY_ROOT,
        )

    def kill(self) -> None:
        """SIGKILL the webserver and the daemon with everything they started (code servers,
        run workers, their Spark): a crash of the machine's orchestration, not a shutdown."""
        for process in self.processes:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def stop(self) -> None:
        """Stop the webserver and the daemon, then the lanes' Spark servers (which `kill`
        leaves running, as a separate service outlives the orchestration's crash)."""
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
        for server in self.spark_servers:
            server.stop()


def start_stack(
    home: Path,
    start_date: str,
    days_per_run: int | None,
    late_data_quiet_seconds: int | None = None,
    warm_spark: bool = True,
) -> DagsterStack:
    """Start both on a free port, after a Spark Connect server per lane where silver runs on
    local Spark (unless not `warm_spark`: each run then starts Spark in its own process; the
    default engine, DuckDB, needs none); `days_per_run` None runs
    each backfill as one run; `late_data_quiet_seconds` None keeps the late-data sensor's
    default quiet period."""
    dagster_home = home / "dagster"
    dagster_home.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(REPOSITORY_ROOT / "dagster.yaml", dagster_home / "dagster.yaml")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "FINSIGHT_HOME": str(home),
        "FINSIGHT_START_DATE": start_date,
        "DAGSTER_HOME": str(dagster_home),
        "DAGSTER_WEBSERVER_URL": url,
        "SPARK_LOCAL_IP": "127.0.0.1",
    }
    env.pop("FINSIGHT_BACKFILL_DAYS_PER_RUN", None)
    if days_per_run is not None:
        env["FINSIGHT_BACKFILL_DAYS_PER_RUN"] = str(days_per_run)
    if late_data_quiet_seconds is not None:
        env["FINSIGHT_LATE_DATA_QUIET_SECONDS"] = str(late_data_quiet_seconds)
    logs = home / "logs"
    logs.mkdir(exist_ok=True)
    settings = Settings.from_env(env)
    warm = warm_spark and settings.silver_engine_kind == SILVER_SPARK
    lanes = list(servers(settings.spark_servers).values()) if warm else []
    for server in lanes:
        server.start()
    commands = {
        "webserver": [
            str(BIN / "dagster-webserver"),
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "-w",
            str(REPOSITORY_ROOT / "workspace.yaml"),
        ],
        "daemon": [
            str(BIN / "dagster-daemon"),
            "run",
            "-w",
            str(REPOSITORY_ROOT / "workspace.yaml"),
        ],
    }
    processes: list[subprocess.Popen] = []
    stack = DagsterStack(home=home, url=url, env=env, processes=processes, spark_servers=lanes)
    try:
        # One at a time over a fresh DAGSTER_HOME: the webserver creates the instance's SQLite
        # storage before it answers. Two processes creating it at once can stamp schedules.db with
        # two alembic revisions (dagster-io/dagster#27390); every code server then fails to load
        # and the location reads LOADED with no assets (`dagster dev` creates it first, too).
        processes.append(_start("webserver", commands["webserver"], env, logs))
        wait_for(stack.webserver.answers, 120, "the webserver to answer")
        processes.append(_start("daemon", commands["daemon"], env, logs))
        wait_for(stack.webserver.location_loaded, 120, "the code location to load")
    except Exception:
        stack.stop()
        raise
    return stack


def _start(name: str, command: list[str], env: dict[str, str], logs: Path) -> subprocess.Popen:
    """Start one server with its output in logs/<name>.log, in its own process group (so
    `kill` takes its children with it)."""
    # The child keeps its own copy of the log's file descriptor.
    with open(logs / f"{name}.log", "w") as log:
        return subprocess.Popen(
            command,
            env=env,
            cwd=REPOSITORY_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def wait_for(condition: Callable[[], object], seconds: float, what: str, every: float = 2.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise TimeoutError(f"waited {seconds:.0f}s for {what}")
