"""The resource interfaces (lake, warehouse, spark) and their embedded-default flavours."""

import os
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_pyspark import PySparkResource
from dagster_pyspark.resources import spark_session_from_config
from pydantic import PrivateAttr

from finsight_assets.defs.run_context import BACKFILL_LANE, run_lane
from finsight_assets.lib.engines.duckdb_warehouse import (
    LOCK_ATTEMPTS,
    DuckDBWarehouse,
    duckdb_connector,
)
from finsight_assets.lib.engines.lake import Lake, LocalLake
from finsight_assets.lib.engines.spark import LocalSparkEngine, SilverEngine
from finsight_assets.lib.engines.spark_config import BACKFILL_SPARK_CONFIG, LOCAL_SPARK_CONFIG
from finsight_assets.lib.engines.spark_connect import LANE_NICENESS, SparkServer
from finsight_assets.lib.engines.warehouse import Warehouse
from finsight_assets.lib.settings import Settings


class LakeResource(dg.ConfigurableResource):
    """Where raw partitions are read and staged files written; one subclass per environment."""

    def get_lake(self) -> Lake:
        raise NotImplementedError

    @property
    def root_uri(self) -> str:
        """The lake's root, under which every file it holds is named (a warehouse's stage over
        the lake starts here)."""
        raise NotImplementedError


class WarehouseResource(dg.ConfigurableResource):
    """Where silver and gold tables live; one subclass per environment."""

    def connect(
        self, lock_attempts: int | None = None, read_only: bool = False
    ) -> AbstractContextManager[Warehouse]:
        """A connection for one unit of work; `lock_attempts` bounds a wait for a file lock, and
        a `read_only` one writes nothing and takes no write lock."""
        raise NotImplementedError


class SparkResource(dg.ConfigurableResource):
    """Where silver's Spark jobs run; one subclass per environment."""

    def silver_engine(self, context: dg.AssetExecutionContext) -> SilverEngine:
        raise NotImplementedError


class LocalLakeResource(LakeResource):
    """The lake as a local folder (`$FINSIGHT_HOME/lake`)."""

    root: str

    def get_lake(self) -> LocalLake:
        return LocalLake(Path(self.root))

    @property
    def root_uri(self) -> str:
        return self.root


class DuckDBWarehouseResource(WarehouseResource):
    """The warehouse as a DuckDB file; each use opens a short-lived connection.

    Not dagster-duckdb's resource: its connection stays open when the step raises, and the
    file's write lock with it.
    """

    database: str

    # A run's lane decides who goes first at the file lock (the daily lane); None outside runs.
    _lane: str | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        if context.dagster_run is not None:
            self._lane = run_lane(dict(context.dagster_run.tags))

    def connect(
        self, lock_attempts: int | None = None, read_only: bool = False
    ) -> AbstractContextManager[DuckDBWarehouse]:
        return duckdb_connector(
            Path(self.database), lock_attempts or LOCK_ATTEMPTS, self._lane, read_only
        )()


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
        os.nice(LANE_NICENESS[lane])
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


def duckdb_warehouse(settings: Settings) -> DuckDBWarehouseResource:
    """The warehouse as the DuckDB file under FINSIGHT_HOME."""
    return DuckDBWarehouseResource(database=str(settings.warehouse_path))


def local_lake_and_spark(settings: Settings) -> dict[str, Any]:
    """The lake as a folder under FINSIGHT_HOME, Spark on this machine."""
    return {
        "lake": LocalLakeResource(root=str(settings.lake)),
        "spark": LocalSparkResource(
            spark_config=dict(LOCAL_SPARK_CONFIG),
            backfill_spark_config=dict(BACKFILL_SPARK_CONFIG),
            servers=str(settings.spark_servers),
        ),
    }
