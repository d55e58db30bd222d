"""Fixtures shared by the whole suite: the silver engine, one Spark session (started only for
the tests that ask for it), a fresh FinSight home per test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")


@pytest.fixture(scope="session")
def spark():
    """One local Spark session for the whole suite (starting one takes seconds)."""
    from pyspark.sql import SparkSession

    from finsight_assets.lib.engines.spark_config import LOCAL_SPARK_CONFIG

    builder = SparkSession.builder
    for key, value in LOCAL_SPARK_CONFIG.items():
        builder = builder.config(key, value)
    session = builder.config("spark.driver.memory", "2g").getOrCreate()
    yield session
    session.stop()


@pytest.fixture(scope="session")
def engine():
    """The embedded default's silver engine: DuckDB (no JVM)."""
    from finsight_assets.lib.engines.duckdb_silver import DuckDBSilverEngine

    return DuckDBSilverEngine()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty FINSIGHT_HOME with the daily partitions starting 2025-03-01."""
    monkeypatch.setenv("FINSIGHT_HOME", str(tmp_path / "finsight"))
    monkeypatch.setenv("FINSIGHT_START_DATE", "2025-03-01")
    monkeypatch.delenv("FINSIGHT_ENV", raising=False)
    yield tmp_path / "finsight"


@pytest.fixture(params=["duckdb", "snowflake"])
def connect(request, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Connections to a fresh warehouse: DuckDB, then the Snowflake flavour (fakesnow)."""
    if request.param == "duckdb":
        from finsight_assets.lib.engines.duckdb_warehouse import duckdb_connector

        yield duckdb_connector(tmp_path / "warehouse.duckdb")
        return
    from finsight_assets_tests.fakesnowflake import fake_snowflake

    with fake_snowflake(tmp_path, monkeypatch) as snow:
        yield snow
