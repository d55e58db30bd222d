"""One operation of the fault suite, run in its own process so it can be killed with kill -9:

    python -m finsight_assets_tests.faults.operation KIND HOME

KIND is a setup step (`generate`, `setup`: generate and publish five days, `redeliver`) or an
operation the crash trials kill:
`materialize` (the `finsight materialize` code path, over the days never published),
`backfill` (a run of a held backfill's manifest, as its Dagster runs execute), `approve`
(approving publishes what it holds; again after an interruption it finishes the publish,
without another approval) and `rollback`. Each operation is idempotent, so running it again
after a kill is the recovery.
"""

from __future__ import annotations

import os
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from finsight_assets.cli.materialize import materialize_range, prepare_instance
from finsight_assets.defs.backfill_scope import run_succeeded
from finsight_assets.dev.synthetic import generate_raw
from finsight_assets.lib.backfills.admission import restated_history
from finsight_assets.lib.backfills.operations import Backfills, open_backfills
from finsight_assets.lib.backfills.stages import HELD
from finsight_assets.lib.settings import Settings
from finsight_assets.lib.tables.registry import SILVER_AND_GOLD

FIRST = date(2025, 3, 3)
DAYS = 8
# Published by `setup`, before `materialize` publishes the rest.
SETUP_DAYS = 5
ROWS_PER_DAY = 500
# The backfill: seven days (one approval), two of them re-delivered.
BACKFILL_DAYS = 7
REDELIVERED = (FIRST + timedelta(days=1), FIRST + timedelta(days=2))
CLOCK = datetime(2025, 3, 20, 12, 0, tzinfo=UTC)
REVIEWER = "fault-reviewer"


def environment(home: Path) -> dict[str, str]:
    return {
        **os.environ,
        "FINSIGHT_HOME": str(home),
        "FINSIGHT_START_DATE": FIRST.isoformat(),
        "FINSIGHT_ENV": "local",
        "SPARK_LOCAL_IP": "127.0.0.1",
    }


def last_day(days: int = DAYS) -> date:
    return FIRST + timedelta(days=days - 1)


def _materialize(
    settings: Settings, end: date, tags: dict[str, str] | None = None, start: date = FIRST
) -> None:
    outcomes = materialize_range(settings, start, end, tags=tags)
    failed = [error for o in outcomes for error in o.errors if not o.success]
    if failed:
        raise SystemExit("\n".join(failed))


def _published_by_a_finished_run(
    settings: Settings, backfills: Backfills, start: date, end: date
) -> date:
    """The last day of `start`..`end` up to which a run that finished published every day
    (the day before `start` when none did)."""
    days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    with backfills.connect() as warehouse:
        history = restated_history(
            warehouse,
            {name: days for name in SILVER_AND_GOLD},
            "recovery",
            CLOCK,
            run_succeeded(prepare_instance(settings)),
        )
    finished = start - timedelta(days=1)
    published = {d for dates in history.values() for d in dates}
    while finished + timedelta(days=1) in published:
        finished += timedelta(days=1)
    return finished


def _manifest_id(home: Path) -> str:
    return (home / "manifest_id").read_text().strip()


def main(kind: str, home: Path) -> None:
    settings = Settings.from_env()
    backfills = open_backfills(settings, lambda: CLOCK)
    if kind in ("generate", "setup"):
        generate_raw(home / "lake", FIRST, last_day(), rows_per_day=ROWS_PER_DAY, seed=31)
        if kind == "setup":
            _materialize(settings, last_day(SETUP_DAYS))
            (home / "setup_days").write_text(str(SETUP_DAYS))
    elif kind == "materialize":
        # Days never published (published history takes a manifest); again after a kill, it
        # finishes what the killed run published; again after it finished, it has nothing
        # left to do (a rerun over those days would be refused as published history).
        setup = home / "setup_days"
        start = last_day(int(setup.read_text()) + 1 if setup.exists() else 1)
        finished = _published_by_a_finished_run(settings, backfills, start, last_day())
        if finished < last_day():
            _materialize(settings, last_day(), start=max(start, finished + timedelta(days=1)))
    elif kind == "redeliver":
        for d in REDELIVERED:
            generate_raw(home / "lake", d, d, rows_per_day=ROWS_PER_DAY, seed=97)
        manifest = backfills.plan(
            reason="corrected delivery",
            requested_by="fault-suite",
            start=FIRST,
            end=last_day(BACKFILL_DAYS),
        )
        (home / "manifest_id").write_text(manifest.id)
    elif kind == "backfill":
        manifest = backfills.store.get(_manifest_id(home))
        _materialize(settings, last_day(BACKFILL_DAYS), manifest.run_tags())
    elif kind == "approve":
        manifest_id = _manifest_id(home)
        digest = backfills.evidence_digest(manifest_id)
        if digest is None:
            return
        # Approved, or what is left of an approved publish a kill stopped between units: it
        # is finished without another approval.
        if backfills.stage(manifest_id) == HELD:
            backfills.publish_held(manifest_id)
        else:
            backfills.approve(manifest_id, REVIEWER, digest)
    elif kind == "rollback":
        manifest_id = _manifest_id(home)
        if not any(e["event"] == "rolled_back" for e in backfills.store.events(manifest_id)):
            backfills.rollback(manifest_id)
    else:
        raise SystemExit(f"unknown operation {kind!r}")


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]))
