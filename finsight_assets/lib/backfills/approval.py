"""Approval on the evidence: a backfill that needs approval holds its audited partitions
(`lib/wap/hold.py`); people approve the evidence digest of what it holds; the last approval
the matrix asks for publishes the held versions (seconds, no recompute); a rejection discards
them.

The evidence digest (`versions.evidence_digest`) names the manifest (its digest) and every held
version (table, date, version id, rows, checksum, the version it replaces): a retry that holds
anything anew changes it, so approvals of the old evidence no longer count.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from finsight_assets.lib.backfills import events
from finsight_assets.lib.backfills.context import BackfillContext
from finsight_assets.lib.backfills.lifecycle import standing
from finsight_assets.lib.backfills.manifests import ManifestError
from finsight_assets.lib.backfills.stages import CANCELLED, RUNNING
from finsight_assets.lib.contract.run_tags import BACKFILL
from finsight_assets.lib.layers.silver_inputs import input_now
from finsight_assets.lib.tables.registry import CODE_VERSIONS
from finsight_assets.lib.wap.hold import HeldPublish, discard_held, publish_held
from finsight_assets.lib.wap.model import RunInfo


@dataclass(frozen=True)
class Approval:
    """Who has approved the evidence, how many the matrix asks for, and what publishing did
    (None until the last approval)."""

    approvals: list[dict[str, Any]]
    required: int
    published: HeldPublish | None

    def to_json(self) -> dict[str, Any]:
        payload: dict[str, Any] = {"approvals": self.approvals, "required": self.required}
        if self.published is not None:
            payload["published"] = len(self.published.published)
            payload["refused"] = {
                f"{table} {d}": why for (table, d), why in sorted(self.published.refused.items())
            }
        return payload


def _review(ctx: BackfillContext, manifest_id: str) -> str:
    """The evidence digest under review; refuses while nothing is ready to approve."""
    manifest = ctx.store.get(manifest_id)
    if manifest.approvals_required == 0:
        raise ManifestError(f"{manifest_id} needs no approval: its runs publish as they finish")
    ctx.store.refuse_rejected(manifest_id, "approve or publish it")
    now = standing(ctx, manifest_id)
    stage = now.stage
    if stage in (RUNNING, CANCELLED):
        raise ManifestError(
            f"{manifest_id} is {stage}: approve once `finsight backfill status {manifest_id}` "
            "says awaiting approval"
            + (" (a cancelled backfill is rejected or planned again)" if stage == CANCELLED else "")
        )
    if now.evidence_digest is None:
        raise ManifestError(
            f"{manifest_id} holds nothing to approve: launch it, and approve its evidence "
            "once its runs have held their partitions"
        )
    return now.evidence_digest


def approve(ctx: BackfillContext, manifest_id: str, by: str | None, digest: str) -> Approval:
    """Record the acting person's approval of the evidence `digest`; the approval that
    completes the matrix publishes the held versions."""
    current = _review(ctx, manifest_id)
    who = ctx.identity.who(by)
    given = ctx.store.approve(manifest_id, who, ctx.clock(), digest, current)
    required = ctx.store.get(manifest_id).approvals_required
    published = _publish(ctx, manifest_id, current, who) if len(given) >= required else None
    return Approval(given, required, published)


def publish(ctx: BackfillContext, manifest_id: str, by: str | None = None) -> HeldPublish:
    """Publish the approved held versions (again after an interruption: what is still held),
    as the acting person (`identity.actor`)."""
    who = ctx.identity.actor(by)
    current = _review(ctx, manifest_id)
    if not ctx.store.is_approved(manifest_id, current):
        raise ManifestError(f"{manifest_id}'s evidence {current} is not approved yet")
    return _publish(ctx, manifest_id, current, who)


def _publish(ctx: BackfillContext, manifest_id: str, current: str, by: str) -> HeldPublish:
    """Publish what is held, whose evidence `current` the matrix has approved, as `by`."""
    at = ctx.clock()
    run = RunInfo(f"approved-{manifest_id}", BACKFILL, at, manifest_id)
    with ctx.connect() as warehouse:
        outcome = publish_held(
            warehouse,
            manifest_id,
            run,
            CODE_VERSIONS,
            lambda table, d: input_now(ctx.lake, table, d),
        )
    ctx.store.record(
        manifest_id,
        events.PUBLISHED_HELD,
        at,
        by=by,
        digest=current,
        published=len(outcome.published),
        refused=[
            {"asset": table, "date": d.isoformat(), "why": why}
            for (table, d), why in sorted(outcome.refused.items())
        ],
    )
    return outcome


def reject(ctx: BackfillContext, manifest_id: str, by: str | None, reason: str) -> int:
    """Discard what the backfill holds; nothing published changes. Returns how many versions."""
    manifest = ctx.store.get(manifest_id)
    who = ctx.identity.who(by)
    ctx.store.refuse_rejected(manifest_id, "reject it again")
    if not reason.strip():
        raise ManifestError("a rejection needs a --reason")
    if manifest.approvals_required == 0:
        raise ManifestError(f"{manifest_id} needs no approval and holds nothing to reject")
    with ctx.connect() as warehouse:
        discarded = discard_held(warehouse, manifest_id)
    ctx.store.record(
        manifest_id,
        events.REJECTED,
        ctx.clock(),
        by=who,
        reason=reason.strip(),
        discarded=len(discarded),
    )
    return len(discarded)
