"""The benchmarks' local Spark session, with the backfill lane's settings."""

from __future__ import annotations

import os
from typing import Any


def spark_session() -> Any:
    """A local Spark session with the backfill lane's settings (`spark_config.py`)."""
    from pyspark.sql import SparkSession

    from finsight_assets.lib.engines.spark_config import BACKFILL_SPARK_CONFIG

    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    builder = SparkSession.builder
    for key, value in BACKFILL_SPARK_CONFIG.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()
