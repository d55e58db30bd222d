"""What a fresh process imports to start: a run worker loading the definitions never imports the
webserver's GraphQL client, and the CLI imports Dagster, pyarrow and DuckDB only for the commands
that use them."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from finsight_assets.lib.settings import REPOSITORY_ROOT

# The GraphQL client (dagster_graphql, gql, graphql-core) and its HTTP stack: only calls to a
# webserver (the CLI's backfill and run-daily commands, sensors, the dev stack) use them.
WEBSERVER_CLIENT = ("dagster_graphql", "gql", "graphql", "requests")


def imported(code: str, *candidates: str) -> list[str]:
    """Which of `candidates` a fresh interpreter has imported after running `code`."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps([m for m in {candidates!r} if m in sys.modules]))"
    env = {**os.environ, "FINSIGHT_ENV": "local"}
    env.pop("FINSIGHT_WAREHOUSE", None)
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
    code = (
        "from finsight_assets.defs.build import build_definitions\n"
        "from finsight_assets.lib.settings import Settings\n"
        "defs = build_definitions(Settings.from_env())\n"
        "defs.get_repository_def().get_all_jobs()"
    )
    assert imported(code, *WEBSERVER_CLIENT, "dagster") == ["dagster"]


def test_the_cli_imports_dagster_pyarrow_and_duckdb_only_for_the_commands_that_use_them():
    heavy = ("dagster", "pyarrow", "duckdb", *WEBSERVER_CLIENT)
    assert imported("import finsight_assets.cli.main", *heavy) == []
