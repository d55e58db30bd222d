"""The environment, decided once: what Settings reads, its defaults, and what it refuses."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from finsight_assets.lib.backfills.planning import config_hash, pipeline_config
from finsight_assets.lib.settings import DEFAULT_WEBSERVER_URL, Settings


def test_defaults_are_the_contracts(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = Settings.from_env({})
    assert settings.env == "local" and settings.warehouse_kind == "duckdb"
    assert settings.home == (tmp_path / ".finsight").resolve()
    assert settings.start_date == date(2025, 1, 1)
    assert settings.webserver_url == DEFAULT_WEBSERVER_URL
    assert settings.backfill_days_per_run is None


def test_every_setting_is_read_from_the_given_environment(tmp_path):
    settings = Settings.from_env(
        {
            "FINSIGHT_ENV": "PROD",
            "FINSIGHT_HOME": str(tmp_path),
            "FINSIGHT_START_DATE": "2025-03-01",
            "FINSIGHT_BACKFILL_DAYS_PER_RUN": "7",
            "DAGSTER_WEBSERVER_URL": "http://dagster.internal:3000",
        }
    )
    assert (settings.env, settings.warehouse_kind) == ("prod", "snowflake")
    assert settings.lake == Path(tmp_path) / "lake"
    assert settings.start_date == date(2025, 3, 1)
    assert settings.backfill_days_per_run == 7
    assert settings.webserver_url == "http://dagster.internal:3000"


def test_the_warehouse_is_a_setting_of_its_own(tmp_path):
    """The environment's engine unless FINSIGHT_WAREHOUSE says otherwise."""
    local = Settings.from_env({"FINSIGHT_HOME": str(tmp_path), "FINSIGHT_WAREHOUSE": "Snowflake"})
    assert (local.env, local.warehouse_kind, local.embedded) == ("local", "snowflake", False)
    prod = Settings.from_env({"FINSIGHT_ENV": "prod", "FINSIGHT_WAREHOUSE": "duckdb"})
    assert (prod.env, prod.warehouse_kind, prod.embedded) == ("prod", "duckdb", False)
    assert Settings.from_env({"FINSIGHT_HOME": str(tmp_path)}).embedded


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("FINSIGHT_ENV", "staging"),
        ("FINSIGHT_START_DATE", "2025-02-30"),
        ("FINSIGHT_BACKFILL_DAYS_PER_RUN", "0"),
        ("FINSIGHT_WAREHOUSE", "postgres"),
    ],
)
def test_a_bad_setting_is_refused_by_name(name, value):
    with pytest.raises(ValueError, match=name):
        Settings.from_env({name: value})


def test_a_manifest_hashes_the_spark_settings_of_its_own_environment(tmp_path):
    local = Settings.from_env({"FINSIGHT_HOME": str(tmp_path)})
    prod = Settings.from_env({"FINSIGHT_HOME": str(tmp_path), "FINSIGHT_ENV": "prod"})
    assert pipeline_config(local)["spark_backfill"]["spark.master"] == "local[*]"
    assert "spark.master" not in pipeline_config(prod)["spark_backfill"]
    assert "spark.dynamicAllocation.maxExecutors" in pipeline_config(prod)["spark_backfill"]
    assert config_hash(pipeline_config(local)) != config_hash(pipeline_config(prod))
