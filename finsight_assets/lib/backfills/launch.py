"""Launch, retry and cancel: a manifest submitted as Dagster asset backfills, on the backfill
lane."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import TYPE_CHECKING

from finsight_assets.lib.backfills.manifests import AssetRange, BackfillError, Manifest
from finsight_assets.lib.backfills.planning import contiguous_runs, days_between
from finsight_assets.lib.backfills.progress import TERMINAL_BACKFILL_STATES
from finsight_assets.lib.backfills.webserver import PartitionRange
from finsight_assets.lib.contract.lineage import SELF_DEPENDENT, UPSTREAM
from finsight_assets.lib.contract.run_tags import (
    BACKFILL_LANE,
    BACKFILL_PRIORITY,
    DRY_RUN,
    LANE_TAG,
    MANIFEST_TAG,
    MODE_TAG,
    PRIORITY_TAG,
    SIDE_EFFECTS_TAG,
)
from finsight_assets.lib.contract.tables import TABLES_BY_NAME

if TYPE_CHECKING:
    from finsight_assets.lib.backfills.operations import Backfills


def launch(ops: Backfills, manifest_id: str) -> str:
    """Submit the manifest as a Dagster asset backfill on the backfill lane."""
    manifest = ops.store.get(manifest_id)
    if not ops.store.is_approved(manifest_id):
        given = len(ops.store.approvals(manifest_id))
        raise BackfillError(
            f"{manifest_id} needs {manifest.approvals_required} approval(s) and has {given}: "
            f"finsight backfill approve {manifest_id} --by NAME"
        )
    if ops.store.backfill_ids(manifest_id):
        raise BackfillError(f"{manifest_id} was launched already; use status, retry or cancel")
    backfill_id = _submit(ops, manifest, manifest.ranges, "launch")
    ops.store.record(manifest_id, "launched", ops.clock(), backfill_id=backfill_id)
    return backfill_id


def _submit(ops: Backfills, manifest: Manifest, ranges: Iterable[AssetRange], what: str) -> str:
    tags = {
        MANIFEST_TAG: manifest.id,
        LANE_TAG: BACKFILL_LANE,
        PRIORITY_TAG: BACKFILL_PRIORITY,
        MODE_TAG: manifest.mode,
        SIDE_EFFECTS_TAG: "true" if manifest.side_effects_allowed else "false",
    }
    return ops.webserver.launch_backfill(
        [
            PartitionRange(r.asset.split("."), r.start.isoformat(), r.end.isoformat())
            for r in ranges
        ],
        tags,
        title=f"{manifest.id} ({what})",
        description=manifest.reason,
    )


def failed_ranges(ops: Backfills, manifest_id: str) -> list[AssetRange]:
    """The manifest's warehouse partitions that no run of it has published, and, for the
    balance chain, every day from the earliest unpublished day it is computed from (a
    roll-forward may have published later days from the old silver)."""
    manifest = ops.store.get(manifest_id)
    published = {(v.table_name, v.business_date) for v in ops.published_versions(manifest_id)}
    missing: dict[str, set[date]] = {}
    for r in manifest.ranges:
        if r.asset in TABLES_BY_NAME:
            missing.setdefault(r.asset, set()).update(
                d for d in days_between(r.start, r.end) if (r.asset, d) not in published
            )
    for r in manifest.ranges:
        if r.asset in SELF_DEPENDENT:
            upstream = [d for p in UPSTREAM[r.asset] for d in missing.get(p, ())]
            if upstream:
                missing[r.asset].update(days_between(max(min(upstream), r.start), r.end))
    return [
        AssetRange(asset, a, b)
        for asset in UPSTREAM
        for a, b in contiguous_runs(missing.get(asset, ()))
    ]


def retry(ops: Backfills, manifest_id: str) -> str:
    """Re-launch only the partitions that failed (not published), once the backfill ended."""
    manifest = ops.store.get(manifest_id)
    if manifest.mode == DRY_RUN:
        raise BackfillError("a dry run publishes nothing; plan a new dry run instead")
    if not ops.progress(manifest_id).finished:
        raise BackfillError(f"{manifest_id} is still running; wait or cancel it first")
    missing = failed_ranges(ops, manifest_id)
    if not missing:
        raise BackfillError(f"{manifest_id} has no failed partition to retry")
    exports = sorted({r.asset for r in manifest.ranges if r.asset not in TABLES_BY_NAME})
    extra = [
        AssetRange(export, r.start, r.end)
        for export in exports
        for r in missing
        if r.asset in UPSTREAM[export]
    ]
    backfill_id = _submit(ops, manifest, [*missing, *extra], "retry")
    ops.store.record(
        manifest_id,
        "retried",
        ops.clock(),
        backfill_id=backfill_id,
        ranges=[{"asset": r.asset, "start": r.start, "end": r.end} for r in missing],
    )
    return backfill_id


def cancel(ops: Backfills, manifest_id: str) -> list[str]:
    """Cancel every backfill of the manifest that is still running; a cancellation is recorded
    only when one was."""
    ops.store.get(manifest_id)
    cancelled = []
    for backfill_id in ops.store.backfill_ids(manifest_id):
        if ops.webserver.backfill(backfill_id).status not in TERMINAL_BACKFILL_STATES:
            ops.webserver.cancel_backfill(backfill_id)
            cancelled.append(backfill_id)
    if cancelled:
        ops.store.record(manifest_id, "cancelled", ops.clock(), backfill_ids=cancelled)
    return cancelled
