"""FINSIGHT_SILVER_ENGINE: DuckDB by default on one machine, a local Spark when asked, EMR in
prod; a value the environment cannot run is refused by name."""

from __future__ import annotations

import subprocess
import sys

import pytest

from finsight_assets.defs.resources.environment import resources_for
from finsight_assets.defs.resources.local import DuckDBSilverResource
from finsight_assets.lib.settings import Settings


def test_duckdb_is_the_default_and_spark_is_selectable(tmp_path):
    home = {"FINSIGHT_HOME": str(tmp_path)}
    assert Settings.from_env(home).silver_engine_kind == "duckdb"
    assert isinstance(resources_for(Settings.from_env(home))["spark"], DuckDBSilverResource)
    spark = resources_for(Settings.from_env({**home, "FINSIGHT_SILVER_ENGINE": "Spark"}))["spark"]
    assert type(spark).__name__ == "LocalSparkResource"
    assert spark.servers == str(tmp_path / "spark")


@pytest.mark.parametrize(
    ("env", "engine", "allowed"), [("local", "emr", "duckdb, spark"), ("prod", "spark", "emr")]
)
def test_an_engine_the_environment_cannot_run_is_refused(env, engine, allowed):
    with pytest.raises(
        ValueError,
        match=f"FINSIGHT_SILVER_ENGINE must be one of {allowed} where FINSIGHT_ENV is {env}, not '{engine}'",
    ):
        Settings.from_env({"FINSIGHT_ENV": env, "FINSIGHT_SILVER_ENGINE": engine})


def test_the_definitions_and_their_resources_load_no_pyspark():
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, finsight_assets.definitions as d; from finsight_assets.defs.resources.environment import resources_for; from finsight_assets.lib.settings import Settings; resources_for(Settings.from_env()); print(sorted(m for m in sys.modules if m.split('.')[0] in ('pyspark', 'dagster_pyspark')))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert loaded.stdout.strip() == "[]", loaded.stdout
