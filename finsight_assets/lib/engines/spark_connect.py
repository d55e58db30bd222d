"""A warm Spark per lane on one machine: a Spark Connect server (its jar ships in the pyspark wheel)
for the daily lane and one for the backfill lane, each with its lane's Spark settings, as the
production path has one EMR Serverless application per lane. Run workers connect to their
lane's server as thin clients instead of each starting a JVM.

A server lives under `$FINSIGHT_HOME/spark/<lane>/`: its pid file, its log, and `url`, written
once it answers and removed when it is stopped. A lane with no `url` there has no server, and
a run of it starts Spark in its own process as before. A lane whose `url` does not answer is
down: a run of it fails saying so, rather than quietly taking a cold JVM.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import pyspark
from pyspark.sql import SparkSession

from finsight_assets.lib.contract.run_tags import BACKFILL_LANE, DAILY_LANE, LANE_NICENESS
from finsight_assets.lib.engines.owners import process_alive
from finsight_assets.lib.engines.ports import free_port, listening
from finsight_assets.lib.engines.spark_config import BACKFILL_SPARK_CONFIG, LOCAL_SPARK_CONFIG

LANES = (DAILY_LANE, BACKFILL_LANE)
LANE_SPARK_CONFIG: Mapping[str, Mapping[str, str]] = {
    DAILY_LANE: LOCAL_SPARK_CONFIG,
    BACKFILL_LANE: BACKFILL_SPARK_CONFIG,
}
# A job whose client is gone (its run worker killed) is interrupted within about a minute
# rather than the default five, so it stops writing into the dead run's staging soon.
SERVER_CONFIG: Mapping[str, str] = {
    "spark.connect.execute.manager.detachedTimeout": "30s",
    "spark.connect.execute.manager.maintenanceInterval": "10s",
    "spark.connect.grpc.binding.address": "127.0.0.1",
}
# How long a starting server may take to answer (a cold JVM on two busy cores).
START_TIMEOUT_SECONDS = 180.0
STOP_TIMEOUT_SECONDS = 30.0
_SERVER_CLASS = "org.apache.spark.sql.connect.service.SparkConnectServer"
_NAME = ("--name", "Spark Connect server")
_SBIN = Path(pyspark.__file__).resolve().parent / "sbin"


class SparkServerDown(RuntimeError):
    """A lane's Spark Connect server does not answer, or would not start."""


@dataclass(frozen=True)
class SparkServer:
    """One lane's Spark Connect server under a FinSight home's `spark/` folder."""

    root: Path
    lane: str

    @property
    def folder(self) -> Path:
        return self.root / self.lane

    @property
    def url_file(self) -> Path:
        return self.folder / "url"

    @property
    def url(self) -> str | None:
        """Where the server listens, once started (None: no server for this lane)."""
        return self.url_file.read_text().strip() if self.url_file.is_file() else None

    @property
    def log(self) -> Path | None:
        logs = sorted(self.folder.glob(f"spark-{self._ident}-*.out"))
        return logs[-1] if logs else None

    @property
    def _ident(self) -> str:
        return f"finsight-{self.lane}"

    def _environment(self) -> dict[str, str]:
        return {
            **os.environ,
            "SPARK_LOG_DIR": str(self.folder),
            "SPARK_PID_DIR": str(self.folder),
            "SPARK_IDENT_STRING": self._ident,
            "SPARK_NICENESS": str(LANE_NICENESS[self.lane]),
            "SPARK_LOCAL_IP": "127.0.0.1",
        }

    def answers(self) -> bool:
        """Whether the server accepts connections at its url."""
        url = self.url
        return url is not None and _listening(url)

    def start(self) -> str:
        """Start the server (a no-op when it answers already) and wait until it answers."""
        running = self.url
        if running is not None and _listening(running):
            return running
        self.stop()
        self.folder.mkdir(parents=True, exist_ok=True)
        port = free_port()
        config = dict(LANE_SPARK_CONFIG[self.lane])
        master = config.pop("spark.master")
        config |= {
            **SERVER_CONFIG,
            "spark.connect.grpc.binding.port": str(port),
            "spark.app.name": f"finsight-{self.lane}",
        }
        arguments = ["--master", master]
        for key, value in sorted(config.items()):
            arguments += ["--conf", f"{key}={value}"]
        subprocess.run(
            # What Spark's start-connect-server.sh runs (pyspark 4.0's wheel has no such script).
            [str(_SBIN / "spark-daemon.sh"), "submit", _SERVER_CLASS, "1", *_NAME, *arguments],
            env=self._environment(),
            check=True,
            capture_output=True,
            # A caller that ignores SIGTERM (a Dagster process can) would pass that on to the
            # server, and `stop` could not end it.
            preexec_fn=_default_signals,
        )
        url = f"sc://127.0.0.1:{port}"
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not _listening(url):
            if time.monotonic() > deadline or self.pid is None:
                raise SparkServerDown(
                    f"the {self.lane} lane's Spark Connect server did not start; see {self.log}"
                )
            time.sleep(0.5)
        self.url_file.write_text(url + "\n")
        return url

    def stop(self) -> None:
        """Stop the server, if one runs, and forget its url: SIGTERM from Spark's own script,
        then SIGKILL if it is still there after STOP_TIMEOUT_SECONDS."""
        self.url_file.unlink(missing_ok=True)
        pid = self.pid
        if pid is None:
            return
        subprocess.run(
            [str(_SBIN / "spark-daemon.sh"), "stop", _SERVER_CLASS, "1"],
            env=self._environment(),
            check=False,
            capture_output=True,
        )
        deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
        while process_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        if process_alive(pid):
            os.kill(pid, signal.SIGKILL)

    @property
    def pid(self) -> int | None:
        """The server's process, while it runs."""
        pid_file = self.folder / f"spark-{self._ident}-{_SERVER_CLASS}-1.pid"
        try:
            pid = int(pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        return pid if process_alive(pid) else None

    def session(self) -> SparkSession:
        """A thin client session on the server; SparkServerDown when it does not answer."""
        url = self.url
        if url is None or not _listening(url):
            raise SparkServerDown(
                f"the {self.lane} lane's Spark Connect server ({url or 'never started'}) does "
                f"not answer: start it with `finsight spark start` (its log: {self.log})"
            )
        # A process is remote or local: pyspark's functions serve one kind of session (a run
        # worker, its own process, is a thin client only).
        return SparkSession.builder.remote(url).getOrCreate()


def servers(root: Path) -> dict[str, SparkServer]:
    return {lane: SparkServer(root, lane) for lane in LANES}


def _default_signals() -> None:
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, signal.SIG_DFL)


def _listening(url: str) -> bool:
    parsed = urlparse(url)
    return (
        parsed.hostname is not None
        and parsed.port is not None
        and listening(parsed.hostname, parsed.port)
    )
