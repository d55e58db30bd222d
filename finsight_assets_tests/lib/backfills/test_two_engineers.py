"""Two engineers, one shared operations store: a plan by one, its held evidence approved by the
other, which publishes it; a forged or edited manifest is refused. Each step is its own process,
on the embedded default (the `finsight` command, names given) and on the Snowflake flavour
(fakesnow kept on disk, who acts is the session's user)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb

from finsight_assets.lib.backfills.store import MANIFESTS
from finsight_assets.lib.engines.duckdb_warehouse import duckdb_connector
from finsight_assets.lib.engines.lake import LocalLake
from finsight_assets.lib.settings import REPOSITORY_ROOT
from finsight_assets_tests.held import hold_customers

FINSIGHT = Path(sys.executable).parent / "finsight"


def finsight(home: Path, *args: str, columns: int = 200) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "COLUMNS": str(columns),
        "FINSIGHT_HOME": str(home),
        "FINSIGHT_START_DATE": "2025-03-01",
        "DAGSTER_WEBSERVER_URL": "http://127.0.0.1:9",
    }
    env.pop("FINSIGHT_ENV", None)
    return subprocess.run(
        [str(FINSIGHT), *args], env=env, capture_output=True, text=True, timeout=300
    )


def said(result: subprocess.CompletedProcess) -> str:
    """What a command told its user, as one line (the console wraps long lines)."""
    return " ".join((result.stdout + result.stderr).split())


def test_two_engineers_on_the_embedded_default(tmp_path):
    home = tmp_path / "finsight"
    planned = finsight(
        home, "backfill", "plan", "--start", "2025-03-01", "--end", "2025-03-08",
        "--reason", "fix FX", "--requested-by", "Ann", "--json",
    )  # fmt: skip
    assert planned.returncode == 0, said(planned)
    manifest_id = json.loads(planned.stdout)["id"]

    early = finsight(home, "backfill", "approve", manifest_id, "--by", "bob", "--evidence", "x")
    assert early.returncode == 1 and "holds nothing to approve" in said(early)
    # A backfill that needs approval launches, and holds what it computes.
    launched = finsight(home, "backfill", "launch", manifest_id)
    assert launched.returncode != 0 and "webserver" in said(launched).lower(), said(launched)
    assert "approval" not in said(launched)
    # In an 80-column terminal the id, which a user copies, is whole.
    listed = finsight(home, "backfill", "list", columns=80)
    assert manifest_id in listed.stdout and "planned" in listed.stdout, listed.stdout

    held = hold_customers(
        duckdb_connector(home / "warehouse.duckdb"), LocalLake(home / "lake"), manifest_id,
        date(2025, 3, 1), "C1", "C2",
    )  # fmt: skip
    status = json.loads(finsight(home, "backfill", "status", manifest_id, "--json").stdout)
    digest = status["evidence_digest"]
    assert status["status"] == "awaiting approval" and digest.startswith("sha256:")
    for requester in (" ann", "ANN"):
        self_approval = finsight(
            home, "backfill", "approve", manifest_id, "--by", requester, "--evidence", digest
        )
        assert self_approval.returncode == 1 and "cannot approve" in said(self_approval)
    stale = finsight(home, "backfill", "approve", manifest_id, "--by", "bob", "--evidence", "s")
    assert stale.returncode == 1 and "review it again" in said(stale)
    approved = finsight(
        home, "backfill", "approve", manifest_id, "--by", "bob", "--evidence", digest, "--json"
    )
    assert approved.returncode == 0, said(approved)
    assert json.loads(approved.stdout)["published"] == len(held)
    with duckdb.connect(str(home / "warehouse.duckdb")) as connection:
        current = connection.execute(
            "SELECT version_id FROM audit.current_versions WHERE table_name = 'silver.customers'"
        ).fetchall()
    assert current == [(held[0].version_id,)]

    with duckdb.connect(str(home / "warehouse.duckdb")) as connection:
        connection.execute(
            f"UPDATE {MANIFESTS} SET body = REPLACE(body, '\"approvals_required\":1', "
            "'\"approvals_required\":0') WHERE manifest_id = ?",
            [manifest_id],
        )
    edited = finsight(home, "backfill", "launch", manifest_id)
    assert edited.returncode == 1 and "changed after it was written" in said(edited)
    listed = finsight(home, "backfill", "list", "--json")
    assert listed.returncode == 0 and json.loads(listed.stdout) == []


def engineer(db: Path, lake: Path, user: str, action: str, argument: str = "") -> tuple[int, dict]:
    done = subprocess.run(
        [sys.executable, "-m", "finsight_assets_tests.lib.backfills.engineer",
         str(db), str(lake), user, action, argument],
        capture_output=True, text=True, timeout=300, cwd=REPOSITORY_ROOT,
    )  # fmt: skip
    assert done.stdout, done.stderr
    return done.returncode, json.loads(done.stdout.splitlines()[-1])


def test_two_engineers_on_the_snowflake_flavour(tmp_path):
    db, lake = tmp_path / "account", tmp_path / "lake"
    db.mkdir()
    lake.mkdir()
    code, planned = engineer(db, lake, "ANN", "plan", "2025-03-08")
    assert code == 0 and planned["requested_by"] == "ANN", planned
    manifest_id = planned["id"]

    code, early = engineer(db, lake, "BOB", "approve", f"{manifest_id} sha256:x")
    assert code == 1 and "holds nothing to approve" in early["error"]
    code, held = engineer(db, lake, "CAROL", "hold", manifest_id)
    assert code == 0 and len(held["held"]) == 1, held
    code, seen = engineer(db, lake, "CAROL", "status", manifest_id)
    assert seen["stage"] == "awaiting approval" and seen["approvals"] == [], seen
    digest = seen["digest"]

    code, refused = engineer(db, lake, "ANN", "approve", f"{manifest_id} {digest}")
    assert code == 1 and "cannot approve" in refused["error"]
    code, by_hand = engineer(db, lake, "BOB", "approve-as", f"{manifest_id} carol {digest}")
    assert code == 1 and "refused here" in by_hand["error"]
    code, approval = engineer(db, lake, "BOB", "approve", f"{manifest_id} {digest}")
    assert code == 0 and [a["by"] for a in approval["approvals"]] == ["BOB"], approval
    assert approval["published"] == 1 and approval["refused"] == {}

    code, seen = engineer(db, lake, "CAROL", "status", manifest_id)
    assert seen["digest"] is None and seen["stage"] == "published", seen
