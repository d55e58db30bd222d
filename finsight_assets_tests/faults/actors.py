"""Who acts, attacked the ways it was found: spellings of one name, a UI backfill's `user` tag
set by hand, and a retry after a rejection, on the embedded default with the project's own
operations (the held partitions through the real protocol, without Spark).

    python -m finsight_assets_tests.faults.actors [--workdir DIR]

Prints one summary line per scenario; exits non-zero if an invariant broke.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from finsight_assets.defs.sensors.backfill_manifests import _plan_ui_backfill
from finsight_assets.dev.synthetic import generate_raw
from finsight_assets.lib.backfills import lifecycle
from finsight_assets.lib.backfills.manifests import BackfillError, ManifestError
from finsight_assets.lib.backfills.operations import Backfills, open_backfills
from finsight_assets.lib.backfills.progress import Progress
from finsight_assets.lib.contract.run_tags import ui_manifest_id
from finsight_assets.lib.engines.webserver_answers import BackfillState
from finsight_assets.lib.settings import Settings
from finsight_assets_tests.held import hold_customers
from finsight_assets_tests.ui_backfills import ui_backfill

FIRST = date(2025, 3, 1)
CLOCK = datetime(2025, 4, 10, 9, 0, tzinfo=UTC)
SPELLINGS = ("Ａｎｎ", "Ann\u200b", "\u202eAnn", "ANN", " ann ")


def day(n: int) -> date:
    return FIRST + timedelta(days=n)


def open_home(home: Path) -> Backfills:
    os.environ.update(FINSIGHT_HOME=str(home), FINSIGHT_START_DATE=FIRST.isoformat())
    os.environ.pop("FINSIGHT_ENV", None)
    generate_raw(home / "lake", FIRST, day(1), rows_per_day=20, seed=11)
    settings = replace(Settings.from_env(), webserver_url="http://127.0.0.1:9")
    return open_backfills(settings, lambda: CLOCK)


def refused(action: Callable[[], object]) -> bool:
    try:
        action()
    except (ManifestError, BackfillError):
        return True
    return False


def held(ops: Backfills, manifest_id: str, *customers: str) -> str:
    hold_customers(ops.connect, ops.lake, manifest_id, day(1), *customers)
    digest = ops.evidence_digest(manifest_id)
    assert digest is not None
    return digest


def spellings(ops: Backfills) -> tuple[str, list[str]]:
    manifest = ops.plan(
        reason="fix FX",
        requested_by="Ann",
        requested_dates={"silver.customers": [day(i) for i in range(35)]},
    )
    digest = held(ops, manifest.id, "C1")
    turned_away = [s for s in SPELLINGS if refused(lambda s=s: ops.approve(manifest.id, s, digest))]
    ops.approve(manifest.id, "Bob", digest)
    twice = refused(lambda: ops.approve(manifest.id, "ｂｏｂ", digest))
    counted = [a["by"] for a in ops.approvals(manifest.id)]
    problems = [f"requester approved as {s!r}" for s in SPELLINGS if s not in turned_away]
    problems += [] if twice and counted == ["Bob"] else [f"Bob counted as {counted}"]
    return (
        f"spellings of one name: {len(turned_away)}/{len(SPELLINGS)} spellings of the "
        f"requester refused; Bob and ｂｏｂ counted {len(counted)} approval(s) of 2",
        problems,
    )


def ui_user_tag(ops: Backfills) -> tuple[str, list[str]]:
    """Ann launches 8 days from the UI with `user` = Bob typed by hand, then approves."""
    days = [day(i) for i in range(8)]
    backfill = ui_backfill("handtagged", "silver.customers", days, {"user": "Bob"})
    manifest_id = ui_manifest_id(backfill.backfill_id)
    _plan_ui_backfill(ops, backfill, manifest_id)
    # No daemon here: Dagster is taken to say the backfill ended, its whole scope computed.
    ended = BackfillState(backfill.backfill_id, "COMPLETED", [], [], {})
    lifecycle.progress = lambda _, mid: Progress(mid, [ended], 1, 1, 0, 0, 2, 1.0, True)
    lifecycle.failed_ranges = lambda *_: []
    digest = held(ops, manifest_id, "C1")
    alone = ops.approve(manifest_id, "Ann", digest)
    required = ops.store.get(manifest_id).approvals_required
    problems = [] if alone.published is None else ["the launcher's approval alone published"]
    return (
        f"hand-set user tag: requester {ops.store.get(manifest_id).requested_by!r} recorded "
        f"unauthenticated, {required} approval(s) required; the launcher alone published "
        f"{0 if alone.published is None else len(alone.published.published)} version(s)",
        problems,
    )


def retry_after_reject(ops: Backfills) -> tuple[str, list[str]]:
    manifest = ops.plan(
        reason="fix FX",
        requested_by="Ann",
        requested_dates={"silver.customers": [day(i) for i in range(8)]},
    )
    held(ops, manifest.id, "C1")
    ops.reject(manifest.id, "Bob", "wrong FX file")
    again = held(ops, manifest.id, "C1", "C2")
    attempts = {
        "retry": lambda: ops.retry(manifest.id, by="Ann"),
        "launch": lambda: ops.launch(manifest.id, by="Ann"),
        "approve": lambda: ops.approve(manifest.id, "Carl", again),
        "publish": lambda: ops.publish_held(manifest.id, "Carl"),
    }
    turned_away = [name for name, attempt in attempts.items() if refused(attempt)]
    problems = [f"{name} after a rejection" for name in attempts if name not in turned_away]
    return (
        f"retry after reject: {len(turned_away)}/{len(attempts)} of retry, launch, approve, "
        f"publish refused; stage {ops.stage(manifest.id)}",
        problems,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=None)
    workdir = parser.parse_args().workdir or Path(tempfile.mkdtemp(prefix="finsight-actors-"))
    ops = open_home(workdir / "home")
    broken = []
    for scenario in (spellings, ui_user_tag, retry_after_reject):
        line, problems = scenario(ops)
        print(f"{line}: {'ok' if not problems else 'BROKEN: ' + '; '.join(problems)}")
        broken += problems
    if broken:
        sys.exit(1)
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
