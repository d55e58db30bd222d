"""The export days of a backfill's scope: which it has computed (a written or a suppressed
partner file, both a materialization by one of its runs; or a file its approval or rollback
wrote), and which are still to run.

Exports are not warehouse tables, so no partition version records them: Dagster's
materializations of the day by a run of one of the manifest's backfills, and the manifest's own
events, are what say so.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from finsight_assets.lib.backfills.context import BackfillContext
from finsight_assets.lib.backfills.exports_written import WRITTEN_BY
from finsight_assets.lib.backfills.manifests import AssetRange, Manifest
from finsight_assets.lib.backfills.planning import contiguous_runs, days_between
from finsight_assets.lib.engines.webserver import BackfillState
from finsight_assets.lib.layers.exports import partner_export_day
from finsight_assets.lib.tables.registry import TABLES_BY_NAME, UPSTREAM


def export_ranges(manifest: Manifest) -> list[AssetRange]:
    """The manifest's ranges of assets outside the warehouse (the partner export)."""
    return [r for r in manifest.ranges if r.asset not in TABLES_BY_NAME]


def exports_done(
    ctx: BackfillContext, manifest: Manifest, states: Iterable[BackfillState]
) -> set[tuple[str, date]]:
    """The (export, day) partitions of the scope a run of the manifest's backfills
    materialized, or whose partner file its approved publish or rollback wrote."""
    runs = {run.run_id for state in states for run in state.runs}
    written = {
        partner_export_day(uri)
        for e in ctx.store.events(manifest.id)
        if e["event"] in WRITTEN_BY
        for uri in e.get(WRITTEN_BY[e["event"]][0]) or []
    }
    done: set[tuple[str, date]] = set()
    for r in export_ranges(manifest):
        days = days_between(r.start, r.end)
        by = ctx.webserver.materializing_runs(r.asset.split("."), [d.isoformat() for d in days])
        done.update(
            (r.asset, d) for d in days if by.get(d.isoformat(), set()) & runs or d in written
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
