"""Where a backfill is in its life, derived from the operations store and Dagster: never
recorded as such, so it cannot go stale (a backfill that finished long ago is not "launched",
and one cancelled in the UI is cancelled, not failed)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from finsight_assets.lib.backfills.progress import TERMINAL_BACKFILL_STATES, Progress, progress
from finsight_assets.lib.backfills.webserver import WebserverUnavailable
from finsight_assets.lib.contract.run_tags import DRY_RUN

if TYPE_CHECKING:
    from finsight_assets.lib.backfills.operations import Backfills

AWAITING_APPROVAL = "awaiting approval"
PLANNED = "planned"
RUNNING = "running"
PUBLISHED = "published"
AUDITED = "audited (dry run)"
PARTIALLY_FAILED = "partially failed"
FAILED = "failed"
CANCELLED = "cancelled"
ROLLED_BACK = "rolled back"
# Launched, but Dagster could not be asked how it went.
LAUNCHED_UNKNOWN = "launched (Dagster unreachable)"

CANCELLED_BACKFILL_STATES = frozenset({"CANCELED", "CANCELLED", "CANCELING"})


def stage_of(
    events: Sequence[Mapping[str, Any]], approved: bool, mode: str, seen: Progress | None
) -> str:
    """The lifecycle stage of a manifest from its events, its approvals and (once launched)
    its progress in Dagster (None: launched, but Dagster did not answer)."""
    kinds = {e["event"] for e in events}
    if "rolled_back" in kinds:
        return ROLLED_BACK
    if not any(e.get("backfill_id") for e in events):
        return PLANNED if approved else AWAITING_APPROVAL
    if seen is None:
        return CANCELLED if "cancelled" in kinds else LAUNCHED_UNKNOWN
    statuses = {b.status for b in seen.backfills}
    if "cancelled" in kinds or statuses & CANCELLED_BACKFILL_STATES:
        return CANCELLED
    if not statuses <= TERMINAL_BACKFILL_STATES:
        return RUNNING
    if seen.failed == 0 and seen.done >= seen.targeted:
        return AUDITED if mode == DRY_RUN else PUBLISHED
    return PARTIALLY_FAILED if seen.done else FAILED


def stage(ops: Backfills, manifest_id: str) -> str:
    """The manifest's lifecycle stage now (see `stage_of`)."""
    manifest = ops.store.get(manifest_id)
    events = ops.store.events(manifest_id)
    seen = None
    if any(e.get("backfill_id") for e in events):
        try:
            seen = progress(ops, manifest_id)
        except WebserverUnavailable:
            seen = None
    return stage_of(events, ops.store.is_approved(manifest_id), manifest.mode, seen)
