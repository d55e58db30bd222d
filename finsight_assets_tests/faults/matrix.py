"""Around the approval matrix: run tags set by hand, history republished without a manifest,
code that is not the manifest's, and a restatement split into small requests, each against a
home with published days.

    python -m finsight_assets_tests.faults.matrix [--workdir DIR]

Prints one line per scenario and exits non-zero if one got around the matrix. The tests in
`finsight_assets_tests/defs/test_run_admission.py` and `lib/backfills/test_matrix.py` assert
the same scenarios in detail.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import os
import shutil
import sys
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from finsight_assets.cli.materialize import materialize_range
from finsight_assets.dev.synthetic import generate_raw
from finsight_assets.lib.backfills.admission import spans
from finsight_assets.lib.backfills.manifests import Manifest
from finsight_assets.lib.backfills.operations import Backfills, open_backfills
from finsight_assets.lib.contract.run_tags import (
    BACKFILL,
    BACKFILL_ID_TAG,
    BACKFILL_LANE,
    LANE_TAG,
    LIVE,
    MANIFEST_TAG,
    MODE_TAG,
)
from finsight_assets.lib.settings import Settings
from finsight_assets.lib.tables import registry
from finsight_assets_tests.pipeline import query

FIRST = date(2025, 3, 1)
# Published before each scenario; the two days after are generated, never published.
PUBLISHED_DAYS = 8
GENERATED_DAYS = 10
ROWS_PER_DAY = 200
CLOCK = datetime(2025, 3, 20, 9, 0, tzinfo=UTC)
UNREACHABLE_WEBSERVER = "http://127.0.0.1:9"
# How a refused step's error reads.
FAILURE = "dagster._core.definitions.events.Failure"


def day(n: int) -> date:
    return FIRST + timedelta(days=n)


def use_home(home: Path) -> None:
    """Point this process's FinSight settings at `home`."""
    os.environ["FINSIGHT_HOME"] = str(home)
    os.environ["FINSIGHT_START_DATE"] = FIRST.isoformat()
    os.environ.pop("FINSIGHT_ENV", None)


def prepare(home: Path) -> None:
    """Raw data for GENERATED_DAYS, the first PUBLISHED_DAYS materialized (`use_home` first)."""
    generate_raw(home / "lake", FIRST, day(GENERATED_DAYS - 1), rows_per_day=ROWS_PER_DAY, seed=23)
    outcomes = materialize_range(Settings.from_env(), FIRST, day(PUBLISHED_DAYS - 1))
    if not all(o.success for o in outcomes):
        raise RuntimeError("\n".join(e for o in outcomes for e in o.errors))


def backfills() -> Backfills:
    settings = replace(Settings.from_env(), webserver_url=UNREACHABLE_WEBSERVER)
    return open_backfills(settings, lambda: CLOCK)


def tags_by_hand(manifest: Manifest, **more: str) -> dict[str, str]:
    """A run of `manifest` tagged by hand, as anyone can tag a run: `more` overrides."""
    return {MANIFEST_TAG: manifest.id, LANE_TAG: BACKFILL_LANE, MODE_TAG: manifest.mode, **more}


@dataclass(frozen=True)
class Outcome:
    """What a scenario did: whether the matrix held, what the refusal said, what changed."""

    scenario: str
    held: bool
    said: str
    changed: list[tuple[str, date]] = field(default_factory=list)
    exported: list[str] = field(default_factory=list)
    approvals: list[int] = field(default_factory=list)

    def line(self) -> str:
        verdict = "held" if self.held else "BROKEN"
        said = self.said.partition("\n")[0].removeprefix(f"{FAILURE}: ")
        detail = f"approvals {self.approvals}" if self.approvals else said
        return f"{self.scenario}: {verdict} ({detail[:150]})"


def _current(home: Path) -> dict[tuple[str, date], str]:
    rows = query(home, "SELECT table_name, business_date, version_id FROM audit.current_versions")
    return {(t, d): v for t, d, v in rows}


def _exports(home: Path) -> dict[str, str]:
    folder = home / "lake" / "exports"
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.glob("*"))
        if p.is_file()
    }


def materialized(
    scenario: str, home: Path, first: date, last: date, tags: dict[str, str] | None = None
) -> Outcome:
    """Materialize [first, last] with `tags` (as `finsight materialize` or a hand-tagged run);
    held when it was refused and changed no published partition and no partner file."""
    versions, files = _current(home), _exports(home)
    outcomes = materialize_range(Settings.from_env(), first, last, tags=tags)
    now, files_now = _current(home), _exports(home)
    changed = sorted(k for k in now if versions.get(k) != now[k])
    exported = sorted(name for name in files_now if files.get(name) != files_now[name])
    said = "\n".join(e for o in outcomes for e in o.errors) or "not refused"
    refused = not all(o.success for o in outcomes)
    return Outcome(scenario, refused and not changed and not exported, said, changed, exported)


def live_tag_on_a_backfill_run(home: Path) -> Outcome:
    """A UI backfill's run (`dagster/backfill`) tagged `finsight/mode=LIVE` by hand."""
    tags = {BACKFILL_ID_TAG: "handmade", MODE_TAG: LIVE}
    return materialized("UI-style backfill run tagged LIVE", home, day(1), day(2), tags)


def live_tag_on_a_manifest_run(home: Path) -> Outcome:
    manifest = backfills().plan(reason="fix", requested_by="ann", start=day(6), end=day(6))
    tags = tags_by_hand(manifest, **{MODE_TAG: LIVE})
    return materialized("manifest run tagged LIVE", home, day(6), day(6), tags)


def manifest_tag_naming_none(home: Path) -> Outcome:
    tags = {MANIFEST_TAG: "bf-nowhere"}
    return materialized("manifest tag naming no manifest", home, day(1), day(2), tags)


def small_manifest_over_another_range(home: Path) -> Outcome:
    """A manifest of one day that needs no approval, tagged on a run of three."""
    manifest = backfills().plan(reason="fix", requested_by="ann", start=day(6), end=day(6))
    scenario = "no-approval manifest tagged on another range"
    return materialized(scenario, home, day(1), day(3), tags_by_hand(manifest))


def forged_manifest(home: Path) -> Outcome:
    """A manifest written into the store by hand, asking no approval for eight days."""
    ops = backfills()
    planned = ops.plan(reason="fix", requested_by="ann", start=day(1), end=day(8), dry_run=True)
    forged = replace(planned, id=f"{planned.id}-forged", approvals_required=0, mode=BACKFILL)
    ops.store.create(forged)
    scenario = "manifest written by hand asking no approval"
    return materialized(scenario, home, day(1), day(1), tags_by_hand(forged))


def materialize_over_history(home: Path) -> Outcome:
    """`finsight materialize` (no manifest) over published days."""
    return materialized("materialize over published history", home, day(1), day(2))


def code_not_the_manifests(home: Path) -> Outcome:
    """A run of a manifest whose process runs another code version of silver.transactions."""
    manifest = backfills().plan(reason="fix", requested_by="ann", start=day(6), end=day(6))
    name = "silver.transactions"
    planned = registry.CODE_VERSIONS[name]
    registry.CODE_VERSIONS[name] = f"{planned}-changed"
    try:
        return materialized(
            "run on other code than its manifest", home, day(6), day(6), tags_by_hand(manifest)
        )
    finally:
        registry.CODE_VERSIONS[name] = planned


def never_published_days_stay_free(home: Path) -> Outcome:
    done = materialized(
        "materialize of never-published days", home, day(PUBLISHED_DAYS), day(GENERATED_DAYS - 1)
    )
    published = {d for _, d in done.changed}
    wanted = {day(n) for n in range(PUBLISHED_DAYS, GENERATED_DAYS)}
    held = done.said == "not refused" and published == wanted
    return replace(done, held=held, said=f"published {spans(sorted(published))}")


def split_restatement(home: Path, requests: int = 10, days: int = 6) -> Outcome:
    """One restatement of silver.customers split into `requests` adjoining requests of `days`
    days: after the first, each needs an approval."""
    operations = backfills()
    approvals = [
        operations.plan(
            reason=f"restatement part {n + 1}",
            requested_by="ann",
            requested_dates={"silver.customers": [day(n * days + i) for i in range(days)]},
        ).approvals_required
        for n in range(requests)
    ]
    held = approvals[0] == 0 and all(a > 0 for a in approvals[1:])
    return Outcome(f"{requests} requests of {days} days", held, "", approvals=approvals)


def early_request_rolls_forward(home: Path) -> Outcome:
    """Six requested days at the start of the published range: the balance chain rolls them
    forward to the latest published day."""
    manifest = backfills().plan(reason="fix", requested_by="ann", start=day(0), end=day(5))
    reach = {r.asset: r for r in manifest.ranges}["gold.account_daily_balance"]
    return Outcome(
        f"6 requested days rolled forward to {reach.end}",
        manifest.approvals_required > 0,
        "",
        approvals=[manifest.approvals_required],
    )


SCENARIOS: tuple[Callable[[Path], Outcome], ...] = (
    live_tag_on_a_backfill_run,
    live_tag_on_a_manifest_run,
    manifest_tag_naming_none,
    small_manifest_over_another_range,
    forged_manifest,
    materialize_over_history,
    code_not_the_manifests,
    never_published_days_stay_free,
    split_restatement,
    early_request_rolls_forward,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    # The summary lines are the output: refused runs log their failures, Dagster its notices.
    logging.disable(logging.CRITICAL)
    warnings.simplefilter("ignore")
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="finsight-matrix-"))
    base = workdir / "published"
    use_home(base)
    prepare(base)
    broken = 0
    for number, scenario in enumerate(SCENARIOS, 1):
        home = workdir / f"scenario-{number}"
        shutil.copytree(base, home)
        use_home(home)
        outcome = scenario(home)
        sys.stdout.write(outcome.line() + "\n")
        sys.stdout.flush()
        broken += not outcome.held
    sys.stdout.write(
        f"matrix: {len(SCENARIOS)} scenarios, {len(SCENARIOS) - broken} held, {broken} broken\n"
    )
    if broken:
        raise SystemExit(1)
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
