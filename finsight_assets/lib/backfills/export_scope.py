"""The export days of a backfill's scope: which its runs have computed (a written or a
suppressed partner file, both a materialization), and which are still to run.

Exports are not warehouse tables, so no partition version records them: Dagster's latest
materialization of the day, by a run of one of the manifest's backfills, is what says so.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from finsight_assets.lib.backfills.context import BackfillContext
from finsight_assets.lib.backfills.manifests import AssetRange, Manifest
from finsight_assets.lib.backfills.planning import contiguous_runs, days_between
from finsight_assets.lib.engines.webserver import BackfillState
from finsight_assets.lib.tables.registry import TABLES_BY_NAME, UPSTREAM


def export_ranges(manifest: Manifest) -> list[AssetRange]:
    """The manifest's ranges of assets outside the warehouse (the partner export)."""
    return [r for r in manifest.ranges if r.asset not in TABLES_BY_NAME]


def exports_done(
    ctx: BackfillContext, manifest: Manifest, states: Iterable[BackfillState]
) -> set[tuple[str, date]]:
    """The (export, day) partitions of the scope whose latest materialization is a run of the
    manifest's backfills."""
    runs = {run.run_id for state in states for run in state.runs}
    done: set[tuple[str, date]] = set()
    for r in export_ranges(manifest):
        days = [d.isoformat() for d in days_between(r.start, r.end)]
        latest = ctx.webserver.latest_materializations(r.asset.split("."), days)
        done.update(
            (r.asset, date.fromisoformat(day))
            for day, event in latest.items()
            if event["run_id"] in runs
        )
    return done


def exports_to_run(
    ctx: BackfillContext,
    manifest: Manifest,
    states: Iterable[BackfillState],
    missing: Iterable[AssetRange],
) -> list[AssetRange]:
    """The export days still to run: those downstream of the warehouse ranges still missing,
    and those no run of the manifest has computed (its selection left them out)."""
    missing = list(missing)
    done = exports_done(ctx, manifest, states)
    days: dict[str, set[date]] = {}
    for r in export_ranges(manifest):
        todo = days.setdefault(r.asset, set())
        todo.update(d for d in days_between(r.start, r.end) if (r.asset, d) not in done)
        for m in missing:
            first, last = max(m.start, r.start), min(m.end, r.end)
            if m.asset in UPSTREAM[r.asset] and first <= last:
                todo.update(days_between(first, last))
    return [
        AssetRange(asset, a, b)
        for asset, todo in sorted(days.items())
        for a, b in contiguous_runs(todo)
    ]
