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


RUN_ONE_DAY = """
import sys
from datetime import date
from pathlib import Path
import finsight_assets.definitions
from finsight_assets.defs.resources.environment import resources_for
from finsight_assets.dev.synthetic import generate_raw
from finsight_assets.lib.settings import Settings
from finsight_assets_tests.pipeline import run_pipeline
home = Path(sys.argv[1])
generate_raw(home / "lake", date(2025, 3, 4), date(2025, 3, 4), rows_per_day=500, seed=3)
engine = resources_for(Settings.from_env())["spark"].silver_engine(None)
results = run_pipeline(engine, home, [date(2025, 3, 4)])
assert not any(r.failed for r in results.values()), results
print(sorted(m for m in sys.modules if m.split(".")[0] in ("pyspark", "dagster_pyspark")))
"""


def test_a_day_run_on_the_default_engine_loads_no_pyspark(home, tmp_path):
    loaded = subprocess.run(
        [sys.executable, "-c", RUN_ONE_DAY, str(tmp_path / "day")],
        capture_output=True,
        text=True,
    )
    assert loaded.returncode == 0, loaded.stderr[-3000:]
    assert loaded.stdout.strip().splitlines()[-1] == "[]", loaded.stdout
