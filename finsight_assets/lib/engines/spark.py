"""Silver's Spark engine on this machine (EMR Serverless, the production flavour, is a Dagster
Pipes client in `defs/resources/emr.py`). PySpark is imported only when a job runs: a run on the
DuckDB engine never loads it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from finsight_assets.lib.engines.silver_engine import SilverEngine
from finsight_assets.lib.layers.silver_job import SilverJob

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

__all__ = ["LocalSparkEngine", "SilverEngine"]


@dataclass(frozen=True)
class LocalSparkEngine:
    """Silver's Spark jobs in a local Spark session (its own JVM or a lane's Connect server)."""

    spark: SparkSession
    name = "Spark"

    def run(self, job: SilverJob) -> None:
        from finsight_assets.lib.layers.silver_spark import run_job

        run_job(self.spark, job)
