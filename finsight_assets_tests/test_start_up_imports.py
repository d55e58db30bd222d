"""What a fresh process imports to start: a run worker loading the definitions never imports the
webserver's GraphQL client, and the CLI imports Dagster, pyarrow and DuckDB only for the commands
that use them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date

from finsight_assets.lib.settings import REPOSITORY_ROOT

# The GraphQL client (dagster_graphql, gql, graphql-core) and its HTTP stack: only calls to a
# webserver (the CLI's backfill and run-daily commands, sensors, the dev stack) use them.
WEBSERVER_CLIENT = ("dagster_graphql", "gql", "graphql", "requests")
# Spark and the cloud clients: only the engines that use them (local Spark, EMR, S3, Snowflake).
SPARK_AND_CLOUD = (
    "pyspark",
    "dagster_pyspark",
    "boto3",
    "dagster_aws",
    "snowflake.connector",
    "dagster_snowflake",
)
# What a run worker does to load the code location before its run starts.
LOAD_DEFINITIONS = (
    "from finsight_assets.defs.build import build_definitions\n"
    "from finsight_assets.lib.settings import Settings\n"
    "defs = build_definitions(Settings.from_env())\n"
    "defs.get_repository_def().get_all_jobs()"
)


def imported(code: str, *candidates: str) -> list[str]:
    """Which of `candidates` a fresh interpreter has imported after running `code`."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps([m for m in {candidates!r} if m in sys.modules]))"
    env = {**os.environ, "FINSIGHT_ENV": "local"}
    # The embedded default: DuckDB for silver and the warehouse.
    env.pop("FINSIGHT_WAREHOUSE", None)
    env.pop("FINSIGHT_SILVER_ENGINE", None)
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=REPOSITORY_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_loading_the_definitions_imports_no_webserver_client(home):
    assert imported(LOAD_DEFINITIONS, *WEBSERVER_CLIENT, "dagster") == ["dagster"]


def test_loading_the_definitions_on_the_embedded_default_imports_no_spark_or_cloud_client(home):
    assert imported(LOAD_DEFINITIONS, *SPARK_AND_CLOUD) == []


def test_the_cli_imports_dagster_pyarrow_and_duckdb_only_for_the_commands_that_use_them():
    heavy = ("dagster", "pyarrow", "duckdb", *WEBSERVER_CLIENT)
    assert imported("import finsight_assets.cli.main", *heavy) == []


def test_a_day_of_silver_and_gold_on_the_embedded_default_imports_no_pandas(home):
    # pandas costs a run a third of a second to import; pyarrow imports it on its first
    # conversion of Python objects and for pyarrow.dataset (`pq.read_table`).
    from finsight_assets.dev.synthetic import generate_raw

    generate_raw(home / "lake", date(2025, 3, 1), date(2025, 3, 1), rows_per_day=500, seed=1)
    run_a_day = (
        "from datetime import date\n"
        "from pathlib import Path\n"
        "from finsight_assets.lib.engines.duckdb_silver import DuckDBSilverEngine\n"
        "from finsight_assets_tests.pipeline import run_pipeline\n"
        f"home = Path({str(home)!r})\n"
        "day = date(2025, 3, 1)\n"
        "results = run_pipeline(DuckDBSilverEngine(), home, [day], run_id='imports')\n"
        "assert not [name for name, result in results.items() if result.failed], results\n"
    )
    assert imported(run_a_day, "pandas", "pandera") == []
