"""Silver on Spark on this machine (FINSIGHT_SILVER_ENGINE=spark): the run's lane's warm Spark
Connect server, else a session in the step's process. Imported only when chosen, so runs on the
DuckDB engine never load PySpark."""

import os
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_pyspark import PySparkResource
from dagster_pyspark.resources import spark_session_from_config

from finsight_assets.defs.resources.lane_cpu import yield_cpu_for_lane
from finsight_assets.defs.resources.local import SparkResource
from finsight_assets.defs.run_context import BACKFILL_LANE, run_lane
from finsight_assets.lib.engines.silver_engine import SilverEngine
from finsight_assets.lib.engines.spark import LocalSparkEngine
from finsight_assets.lib.engines.spark_config import BACKFILL_SPARK_CONFIG, LOCAL_SPARK_CONFIG
from finsight_assets.lib.engines.spark_connect import SparkServer
from finsight_assets.lib.settings import Settings


class LocalSparkResource(PySparkResource, SparkResource):
    """Spark on this machine: the run's lane's warm Spark Connect server when one was started
    (`finsight spark start`), else a session in this process (`local[*]`); backfill runs use
    the backfill lane's settings either way."""

    backfill_spark_config: dict[str, Any] = {}
    # Where the lanes' Spark Connect servers say where they listen (Settings.spark_servers).
    servers: str = ""

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        # Spark's driver otherwise binds to whatever the host name resolves to.
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        tags = dict(context.dagster_run.tags) if context.dagster_run else {}
        lane = run_lane(tags)
        # On one machine both lanes share the cores: a backfill run (and a Spark JVM it starts,
        # which inherits this; its lane's server is started so) yields the CPU to a daily run.
        yield_cpu_for_lane(lane)
        server = SparkServer(Path(self.servers), lane)
        if server.url is not None:
            if context.log is not None:
                context.log.info(f"Spark for the {lane} lane: its server at {server.url}")
            self._spark_session = server.session()
            return
        config = self.backfill_spark_config if lane == BACKFILL_LANE else self.spark_config
        if context.log is not None:
            context.log.info(f"Spark for the {lane} lane, in this process (no server started)")
        self._spark_session = spark_session_from_config(config or self.spark_config)

    def silver_engine(self, context: dg.AssetExecutionContext) -> SilverEngine:
        return LocalSparkEngine(self.spark_session)


def local_spark(settings: Settings) -> LocalSparkResource:
    """Spark on this machine with the lanes' settings and servers under FINSIGHT_HOME."""
    return LocalSparkResource(
        spark_config=dict(LOCAL_SPARK_CONFIG),
        backfill_spark_config=dict(BACKFILL_SPARK_CONFIG),
        servers=str(settings.spark_servers),
    )
