"""Roll a backfill back: every partition it published goes back to the version it replaced, all
tables in one transaction, refused where that would lose or contradict other runs' work."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from finsight_assets.lib.backfills.context import BackfillContext
from finsight_assets.lib.backfills.events import ROLLED_BACK
from finsight_assets.lib.backfills.manifests import BackfillError
from finsight_assets.lib.backfills.versions import published_versions
from finsight_assets.lib.contract.run_tags import BACKFILL
from finsight_assets.lib.engines.warehouse import Warehouse
from finsight_assets.lib.layers.exports import EXPORTED_FROM, rewrite_partner_exports
from finsight_assets.lib.tables.registry import SELF_DEPENDENT, TABLES_BY_NAME, UPSTREAM
from finsight_assets.lib.wap.guards import locked_transaction
from finsight_assets.lib.wap.model import RunInfo
from finsight_assets.lib.wap.publish_history import current_successors
from finsight_assets.lib.wap.rollback import restore_in_transaction
from finsight_assets.lib.wap.versions import BACKFILL_ROLLBACK_RUN, all_current_versions


def rollback(
    ctx: BackfillContext, manifest_id: str, *, force: bool = False, by: str | None = None
) -> dict[str, dict[str, Any]]:
    """Restore every partition the backfill published to the version it replaced.

    Refuses if a later run republished one of the partitions or built on them (unless `force`),
    and records the rollback, with who rolled back (`by`), in the warehouse and the manifest's
    events.
    """
    ctx.store.get(manifest_id)
    who = ctx.identity.actor(by)
    if any(e["event"] == ROLLED_BACK for e in ctx.store.events(manifest_id)):
        raise BackfillError(f"{manifest_id} is already rolled back")
    first: dict[tuple[str, date], str | None] = {}
    last: dict[tuple[str, date], str] = {}
    foreign: list[tuple[str, date]] = []
    for v in published_versions(ctx, manifest_id):
        key = (v.table_name, v.business_date)
        if key in last and v.replaced_version_id != last[key]:
            # Another run published between two of this backfill's versions (launch, then
            # retry): restoring the first replaced version would silently drop it.
            foreign.append(key)
        first.setdefault(key, v.replaced_version_id)
        last[key] = v.version_id
    if not last:
        raise BackfillError(f"{manifest_id} published nothing; there is nothing to roll back")
    run = RunInfo(f"{BACKFILL_ROLLBACK_RUN}{manifest_id}", BACKFILL, ctx.clock(), manifest_id)
    restored: dict[str, dict[str, Any]] = {}
    tables = sorted({t for t, _ in last}, key=lambda t: list(UPSTREAM).index(t), reverse=True)
    # Every table in one transaction, and every check under its locks: a run that publishes on
    # top meanwhile waits, and a refusal on one table leaves all of them untouched.
    with ctx.connect() as warehouse, locked_transaction(warehouse, tables, run):
        current = all_current_versions(warehouse)
        if all(current.get(key) == version for key, version in first.items()):
            # An earlier rollback committed and was stopped before it said so: finish it.
            restored = _by_table(first)
            built_on: list[tuple[str, date]] = []
        else:
            built_on = _built_on_top(warehouse, manifest_id, last)
            problems = [f"{t} {d} (another run published in between)" for t, d in foreign]
            problems += [
                f"{t} {d} (computed on top of this backfill; recompute it after)"
                for t, d in built_on
            ]
            if problems and not force:
                raise BackfillError(
                    "rolling back would lose or contradict other runs' work: "
                    + ", ".join(problems)
                    + "; use --force to roll back anyway"
                )
            for table in tables:
                targets = {d: (last[(t, d)], first[(t, d)]) for t, d in last if t == table}
                back = restore_in_transaction(
                    warehouse,
                    TABLES_BY_NAME[table],
                    targets,
                    run,
                    force=force,
                    note=f"rollback of backfill {manifest_id}",
                )
                restored[table] = {d.isoformat(): v for d, v in sorted(back.items())}
    return _record(ctx, manifest_id, restored, force, built_on, who)


def _by_table(versions: Mapping[tuple[str, date], str | None]) -> dict[str, dict[str, Any]]:
    restored: dict[str, dict[str, Any]] = {}
    for (table, d), version in sorted(versions.items()):
        restored.setdefault(table, {})[d.isoformat()] = version
    return restored


def _record(
    ctx: BackfillContext,
    manifest_id: str,
    restored: dict[str, dict[str, Any]],
    force: bool,
    built_on: list[tuple[str, date]],
    by: str,
) -> dict[str, dict[str, Any]]:
    """Supersede the side effects and record the rollback in the manifest's events."""
    superseded = _supersede_exports(ctx, manifest_id, restored)
    ctx.store.record(
        manifest_id,
        ROLLED_BACK,
        ctx.clock(),
        by=by,
        restored=restored,
        force=force,
        to_recompute=[{"asset": t, "date": d} for t, d in built_on],
        exports_superseded=superseded,
    )
    return restored


def _supersede_exports(
    ctx: BackfillContext, manifest_id: str, restored: Mapping[str, Mapping[str, Any]]
) -> list[str]:
    """The partner files of a backfill that was allowed side effects, written again from the
    restored rows: a rolled-back version is never left out there as the truth. Returns them."""
    manifest = ctx.store.get(manifest_id)
    if not manifest.side_effects_allowed:
        return []
    days = [date.fromisoformat(d) for d in restored.get(EXPORTED_FROM.qualified_name, {})]
    with ctx.connect() as warehouse:
        return rewrite_partner_exports(warehouse, ctx.lake, days, True).files


def _built_on_top(
    warehouse: Warehouse, manifest_id: str, rolled_back: Mapping[tuple[str, date], str]
) -> list[tuple[str, date]]:
    """Current partitions of self-dependent tables, outside the rollback, that opened from one
    of its versions (a daily run published the next day on top of the backfill)."""
    found = []
    for table in sorted({t for t, _ in rolled_back if t in SELF_DEPENDENT}):
        ids = [v for (t, _), v in rolled_back.items() if t == table]
        dates = [d for t, d in rolled_back if t == table]
        successors = current_successors(warehouse, table, ids, dates, manifest_id)
        found.extend((table, d) for d in successors)
    return sorted(found)
