"""`finsight backfill`: what a refused operation prints and how the command exits (1 refused,
3 no webserver), and the same listing of commands in `--help`."""

from __future__ import annotations

import json
from datetime import date

import pytest
from typer.testing import CliRunner

from finsight_assets.cli.main import app
from finsight_assets.dev.synthetic import generate_raw

UNKNOWN = "bf-20250301-000000-abcdef"


@pytest.fixture
def cli(home, monkeypatch) -> CliRunner:
    # Nothing listens here: a command that asks the webserver finds none.
    monkeypatch.setenv("DAGSTER_WEBSERVER_URL", "http://127.0.0.1:9")
    generate_raw(home / "lake", date(2025, 3, 1), date(2025, 3, 2), rows_per_day=20, seed=3)
    return CliRunner()


def said(result) -> str:
    return " ".join(result.output.split())


def planned(cli: CliRunner) -> str:
    result = cli.invoke(
        app,
        ["backfill", "plan", "--reason", "fix", "--requested-by", "ann"]
        + ["--start", "2025-03-01", "--end", "2025-03-01", "--json"],
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.output)["id"]


@pytest.mark.parametrize(
    "command",
    [
        ["status", UNKNOWN],
        ["report", UNKNOWN],
        ["reject", UNKNOWN, "--reason", "no", "--by", "bob"],
        ["approve", UNKNOWN, "--evidence", "sha256:x", "--by", "bob"],
        ["publish", UNKNOWN],
        ["rollback", UNKNOWN],
        ["launch", UNKNOWN],
        ["retry", UNKNOWN],
        ["cancel", UNKNOWN],
    ],
)
def test_an_unknown_manifest_is_refused_with_exit_1(cli, command):
    result = cli.invoke(app, ["backfill", *command])

    assert result.exit_code == 1, result.output
    assert f"no manifest {UNKNOWN} in the operations store" in said(result)


def test_a_plan_without_a_range_is_refused_with_exit_1(cli):
    result = cli.invoke(app, ["backfill", "plan", "--reason", "fix", "--requested-by", "ann"])

    assert result.exit_code == 1
    assert "give --start and --end (or --stale-code)" in said(result)


def test_launching_without_a_webserver_exits_3_and_says_how_to_start_one(cli):
    manifest_id = planned(cli)

    result = cli.invoke(app, ["backfill", "launch", manifest_id])

    assert result.exit_code == 3, result.output
    assert "no Dagster webserver answers at http://127.0.0.1:9" in said(result)
    assert "make dev" in said(result)


def test_status_without_a_webserver_still_shows_the_manifest(cli):
    manifest_id = planned(cli)

    result = cli.invoke(app, ["backfill", "status", manifest_id, "--json"])

    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["status"] == "planned"


def test_help_lists_the_commands_in_their_order(cli):
    result = cli.invoke(app, ["backfill", "--help"])

    # A command's row starts at the box's edge; a folded description is indented further.
    rows = [line for line in result.output.splitlines() if line.startswith("│ ")]
    listed = [row.split()[1] for row in rows if not row.startswith(("│  ", "│ -"))]
    assert listed == [
        "plan",
        "approve",
        "publish",
        "reject",
        "launch",
        "list",
        "status",
        "retry",
        "cancel",
        "report",
        "rollback",
        "prune-history",
    ]
