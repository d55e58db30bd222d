"""One engineer's backfill command against a shared fake Snowflake account, as its own process.

`python -m finsight_assets_tests.lib.backfills.engineer DB_PATH LAKE USER ACTION [ARG]` runs the
production operations (`open_backfills` on the Snowflake flavour, session identity) as USER and
prints what they answered as JSON; a refusal prints {"error": ...} and exits 1. fakesnow keeps
the account under DB_PATH, so processes take turns on one store, as laptops share one account.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from finsight_assets.lib.backfills.manifests import BackfillError, ManifestError
from finsight_assets.lib.backfills.operations import Backfills, open_backfills
from finsight_assets.lib.engines.lake import LocalLake
from finsight_assets.lib.engines.webserver import WebserverUnavailable
from finsight_assets.lib.settings import Settings
from finsight_assets_tests.fakesnowflake import fake_snowflake
from finsight_assets_tests.held import hold_customers

FIRST = date(2025, 3, 1)
UNREACHABLE_WEBSERVER = "http://127.0.0.1:9"


def act(backfills: Backfills, action: str, argument: str | None) -> object:
    if action == "plan":
        manifest = backfills.plan(
            reason="fix FX",
            requested_by=backfills.identity.who(None),
            start=FIRST,
            end=date.fromisoformat(argument or "2025-03-08"),
        )
        return {"id": manifest.id, "requested_by": manifest.requested_by}
    if action == "hold":
        held = hold_customers(backfills.connect, backfills.lake, argument or "", FIRST, "C1", "C2")
        return {"held": [v.version_id for v in held]}
    if action == "approve":
        manifest_id, digest = (argument or "").split(" ", 1)
        return backfills.approve(manifest_id, None, digest).to_json()
    if action == "approve-as":
        manifest_id, name, digest = (argument or "").split(" ", 2)
        return backfills.approve(manifest_id, name, digest).to_json()
    if action == "status":
        return {
            "stage": backfills.stage(argument or ""),
            "digest": backfills.evidence_digest(argument or ""),
            "approvals": [a["by"] for a in backfills.approvals(argument or "")],
        }
    if action == "launch":
        return backfills.launch(argument or "")
    raise SystemExit(f"unknown action {action}")


def main(db_path: str, lake: str, user: str, action: str, argument: str | None = None) -> int:
    settings = Settings(
        env="prod", home=Path(lake).parent, start_date=FIRST, webserver_url=UNREACHABLE_WEBSERVER
    )
    with (
        pytest.MonkeyPatch.context() as patch,
        fake_snowflake(Path(lake), patch, db_path=Path(db_path), user=user) as connect,
    ):
        backfills = open_backfills(
            settings, lambda: datetime.now(UTC), lake=LocalLake(Path(lake)), connect=connect
        )
        try:
            answer = act(backfills, action, argument)
        except (ManifestError, BackfillError, WebserverUnavailable) as error:
            sys.stdout.write(json.dumps({"error": str(error), "kind": type(error).__name__}) + "\n")
            return 1
    sys.stdout.write(json.dumps(answer, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
