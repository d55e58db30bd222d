"""The resource interfaces (lake, warehouse, spark) and their embedded-default flavours. The
`spark` key holds silver's engine: DuckDB by default, a local Spark (`local_spark.py`, imported
only when FINSIGHT_SILVER_ENGINE=spark) or EMR Serverless (prod)."""

from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import dagster as dg
from pydantic import PrivateAttr

from finsight_assets.defs.resources.lane_cpu import yield_cpu_for_lane
from finsight_assets.defs.run_context import run_lane
from finsight_assets.lib.engines.duckdb_silver import DuckDBSilverEngine
from finsight_assets.lib.engines.duckdb_warehouse import (
    LOCK_ATTEMPTS,
    DuckDBWarehouse,
    duckdb_connector,
)
from finsight_assets.lib.engines.lake import Lake, LocalLake
from finsight_assets.lib.engines.silver_engine import SilverEngine
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
    """Where silver's outcome rows are computed (DuckDB, local Spark, EMR Serverless)."""

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
            # Every run on the embedded warehouse sets this up: a backfill run, its DuckDB
            # threads with it, yields the cores to a daily run.
            yield_cpu_for_lane(self._lane)

    def connect(
        self, lock_attempts: int | None = None, read_only: bool = False
    ) -> AbstractContextManager[DuckDBWarehouse]:
        return duckdb_connector(
            Path(self.database), lock_attempts or LOCK_ATTEMPTS, self._lane, read_only
        )()


class DuckDBSilverResource(SparkResource):
    """Silver computed by DuckDB in the step's process (inside the embedded warehouse): no JVM."""

    def silver_engine(self, context: dg.AssetExecutionContext) -> SilverEngine:
        return DuckDBSilverEngine()


def duckdb_warehouse(settings: Settings) -> DuckDBWarehouseResource:
    """The warehouse as the DuckDB file under FINSIGHT_HOME."""
    return DuckDBWarehouseResource(database=str(settings.warehouse_path))


def local_lake_and_spark(settings: Settings) -> dict[str, Any]:
    """The lake as a folder under FINSIGHT_HOME, silver on DuckDB (`environment.py` swaps in a
    local Spark when FINSIGHT_SILVER_ENGINE=spark)."""
    return {"lake": LocalLakeResource(root=str(settings.lake)), "spark": DuckDBSilverResource()}
