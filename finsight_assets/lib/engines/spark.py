"""Where silver's Spark jobs run: the engine interface and its local flavour (EMR Serverless, the
production flavour, is a Dagster Pipes client in `defs/resources/emr.py`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from pyspark.sql import SparkSession

from finsight_assets.lib.layers.silver_job import SilverJob
from finsight_assets.lib.layers.silver_spark import run_job


class SilverEngine(Protocol):
    """Runs one silver job: reads its raw files, writes every row with its outcome to staging."""

    def run(self, job: SilverJob) -> None: ...


@dataclass(frozen=True)
class LocalSparkEngine:
    """Silver's Spark jobs in this process's Spark session (the embedded default)."""

    spark: SparkSession

    def run(self, job: SilverJob) -> None:
        run_job(self.spark, job)
