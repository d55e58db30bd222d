"""Where a backfill is in its life, derived from the operations store and Dagster: never
recorded as such, so it cannot go stale (a backfill that finished long ago is not "launched",
and one cancelled in the UI is cancelled, not failed)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from finsight_assets.lib.backfills import events as event
from finsight_assets.lib.backfills.context import BackfillContext
from finsight_assets.lib.backfills.export_scope import exports_to_run
from finsight_assets.lib.backfills.progress import TERMINAL_BACKFILL_STATES, Progress, progress
from finsight_assets.lib.backfills.stages import (
    AUDITED,
    AWAITING_APPROVAL,
    CANCELLED,
    FAILED,
    HELD,
    LAUNCHED_UNKNOWN,
    PARTIALLY_FAILED,
    PLANNED,
    PUBLISHED,
    REJECTED,
    ROLLED_BACK,
    RUNNING,
)
from finsight_assets.lib.backfills.versions import (
    HeldEvidence,
    failed_ranges,
    held_evidence,
    unfinished_publish,
)
from finsight_assets.lib.contract.run_tags import DRY_RUN
from finsight_assets.lib.engines.webserver import WebserverUnavailable
from finsight_assets.lib.wap.held_versions import held_versions
from finsight_assets.lib.wap.hold import discard_held

CANCELLED_BACKFILL_STATES = frozenset({"CANCELED", "CANCELLED", "CANCELING"})


def stage_of(
    events: Sequence[Mapping[str, Any]],
    mode: str,
    seen: Progress | None,
    holds: bool = False,
    approved: bool = False,
    completing: bool = False,
) -> str:
    """The lifecycle stage of a manifest from its events, (once launched) its progress in
    Dagster (None: launched, but Dagster did not answer), whether it holds partitions for
    approval, whether the matrix's approvals of what it holds are in, and whether the rest of a
    UI backfill's scope is still to be launched (`launch.complete`)."""
    kinds = {e["event"] for e in events}
    if event.ROLLED_BACK in kinds:
        return ROLLED_BACK
    if event.REJECTED in kinds:
        return REJECTED
    publishes = [e for e in events if e["event"] == event.PUBLISHED_HELD]
    if any(e.get("backfill_id") for e in events):
        if seen is None:
            return CANCELLED if event.CANCELLED in kinds else LAUNCHED_UNKNOWN
        statuses = {b.status for b in seen.backfills}
        if event.CANCELLED in kinds or statuses & CANCELLED_BACKFILL_STATES:
            return CANCELLED
        if not statuses <= TERMINAL_BACKFILL_STATES or completing:
            return RUNNING
    elif not (holds or publishes):
        return PLANNED
    if holds:
        return HELD if approved else AWAITING_APPROVAL
    refused = bool(publishes and publishes[-1].get("refused"))
    computed = seen is None or (seen.failed == 0 and seen.done >= seen.targeted)
    if computed and not refused:
        return AUDITED if mode == DRY_RUN else PUBLISHED
    return PARTIALLY_FAILED if seen is None or seen.done else FAILED


@dataclass(frozen=True)
class Standing:
    """A backfill's stage now and the evidence digest of what it holds (None: nothing held)."""

    stage: str
    evidence_digest: str | None


def standing(ctx: BackfillContext, manifest_id: str) -> Standing:
    """The manifest's lifecycle stage (see `stage_of`) and the evidence it holds."""
    manifest = ctx.store.get(manifest_id)
    events = ctx.store.events(manifest_id)
    seen = None
    if any(e.get("backfill_id") for e in events):
        try:
            seen = progress(ctx, manifest_id)
        except WebserverUnavailable:
            seen = None
    evidence = held_evidence(ctx, manifest_id)
    current = evidence.digest if evidence else None
    approved = current is not None and _approved(ctx, manifest_id, evidence)
    completing = (
        manifest.source == "ui"
        and seen is not None
        and seen.finished
        and not seen.failed
        and not any(e["event"] == event.COMPLETE.requested for e in events)
        and bool(
            failed_ranges(ctx, manifest_id) or exports_to_run(ctx, manifest, seen.backfills, [])
        )
    )
    stage = stage_of(
        events,
        manifest.mode,
        seen,
        holds=current is not None,
        approved=approved,
        completing=completing,
    )
    return Standing(stage, current)


def record_cancelled(ctx: BackfillContext, manifest_id: str, backfill_id: str, by: str) -> bool:
    """Record that a backfill of the manifest was cancelled in Dagster (the UI's cancel, which
    the CLI's `cancel` did not record), once: from then on its runs hold nothing
    (`hold.cancelled`). Returns whether it recorded."""
    if any(e["event"] == event.CANCELLED for e in ctx.store.events(manifest_id)):
        return False
    ctx.store.record(manifest_id, event.CANCELLED, ctx.clock(), by=by, backfill_ids=[backfill_id])
    return True


def discard_cancelled(ctx: BackfillContext, manifest_id: str) -> int:
    """Discard everything a cancelled manifest holds (call once its runs have all ended: a run
    that held before the cancel was recorded leaves its versions); returns how many."""
    with ctx.read() as reading:
        if not held_versions(reading, manifest_id):
            return 0
    with ctx.connect() as warehouse:
        return len(discard_held(warehouse, manifest_id, ctx.clock(), "cancelled"))


def _approved(ctx: BackfillContext, manifest_id: str, evidence: HeldEvidence) -> bool:
    """Whether `publish` would publish what is held without another approval: its evidence is
    approved, or it is what is left of an approved publish that was stopped."""
    return (
        ctx.store.is_approved(manifest_id, evidence.digest)
        or unfinished_publish(ctx, manifest_id) is not None
    )
