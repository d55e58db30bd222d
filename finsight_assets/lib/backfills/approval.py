"""Approval on the evidence: a backfill that needs approval holds its audited partitions
(`lib/wap/hold.py`); people approve the evidence digest of what it holds; the last approval
the matrix asks for publishes the held versions (seconds, no recompute); a rejection discards
them.

The evidence digest (`versions.evidence_digest`) names the manifest (its digest) and every held
version's whole record (table, date, version id, rows, checksum, the version it replaces, what
it was computed from): a retry that holds anything anew changes it, so approvals of the old
evidence no longer count. The publish is given the approved versions themselves and publishes
exactly those or nothing (`lib/wap/held_publish.py`); it is recorded as started first, so one
stopped between publish units is finished by `publish` without another approval, and nothing
beyond what was approved.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from finsight_assets.lib.backfills import events
from finsight_assets.lib.backfills.context import BackfillContext
from finsight_assets.lib.backfills.lifecycle import standing
from finsight_assets.lib.backfills.manifests import ManifestError
from finsight_assets.lib.backfills.stages import CANCELLED, LAUNCHED_UNKNOWN, RUNNING
from finsight_assets.lib.backfills.versions import (
    HeldEvidence,
    held_evidence,
    unfinished_publish,
)
from finsight_assets.lib.contract.run_tags import BACKFILL
from finsight_assets.lib.layers.exports import EXPORTED_FROM, rewrite_partner_exports
from finsight_assets.lib.layers.silver_inputs import input_now
from finsight_assets.lib.wap.held_publish import HeldPublish, publish_held
from finsight_assets.lib.wap.hold import discard_held
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


def _review(ctx: BackfillContext, manifest_id: str, approving: bool) -> HeldEvidence:
    """The evidence under review; refuses while nothing is ready to approve (`approving`: nor
    while Dagster cannot say whether runs are still holding)."""
    manifest = ctx.store.get(manifest_id)
    if manifest.approvals_required == 0:
        raise ManifestError(f"{manifest_id} needs no approval: its runs publish as they finish")
    ctx.store.refuse_rejected(manifest_id, "approve or publish it")
    now = standing(ctx, manifest_id)
    stage = now.stage
    if stage in (RUNNING, CANCELLED) or (approving and stage == LAUNCHED_UNKNOWN):
        raise ManifestError(
            f"{manifest_id} is {stage}: approve once `finsight backfill status {manifest_id}` "
            "says awaiting approval"
            + (" (a cancelled backfill is rejected or planned again)" if stage == CANCELLED else "")
            + (
                " (its runs may still be holding partitions: start Dagster, or wait until it "
                "answers)"
                if stage == LAUNCHED_UNKNOWN
                else ""
            )
        )
    evidence = held_evidence(ctx, manifest_id)
    if now.evidence_digest is None or evidence is None:
        raise ManifestError(
            f"{manifest_id} holds nothing to approve: launch it, and approve its evidence "
            "once its runs have held their partitions"
        )
    if evidence.digest != now.evidence_digest:
        raise ManifestError(
            f"{manifest_id}'s evidence changed while it was read ({now.evidence_digest} -> "
            f"{evidence.digest}): review it again"
        )
    return evidence


def approve(ctx: BackfillContext, manifest_id: str, by: str | None, digest: str) -> Approval:
    """Record the acting person's approval of the evidence `digest`; the approval that
    completes the matrix publishes exactly the held versions that digest names."""
    current = _review(ctx, manifest_id, approving=True)
    who = ctx.identity.who(by)
    given = ctx.store.approve(manifest_id, who, ctx.clock(), digest, current.digest)
    required = ctx.store.get(manifest_id).approvals_required
    published = _publish(ctx, manifest_id, current, who) if len(given) >= required else None
    return Approval(given, required, published)


def publish(ctx: BackfillContext, manifest_id: str, by: str | None = None) -> HeldPublish:
    """Publish the approved held versions, as the acting person (`identity.actor`): those of
    the approved evidence held now, or what is left of an approved publish that was stopped
    between publish units."""
    who = ctx.identity.actor(by)
    current = _review(ctx, manifest_id, approving=False)
    if ctx.store.is_approved(manifest_id, current.digest):
        return _publish(ctx, manifest_id, current, who)
    unfinished = unfinished_publish(ctx, manifest_id)
    if unfinished is None:
        raise ManifestError(f"{manifest_id}'s evidence {current.digest} is not approved yet")
    return _publish(ctx, manifest_id, unfinished, who, finishing=True)


def _publish(
    ctx: BackfillContext,
    manifest_id: str,
    approved: HeldEvidence,
    by: str,
    finishing: bool = False,
) -> HeldPublish:
    """Publish the approved held versions (`approved`: the matrix approved its digest) as `by`,
    then the partner files of the days it published, where the manifest allows side effects."""
    at = ctx.clock()
    run = RunInfo(f"approved-{manifest_id}", BACKFILL, at, manifest_id)
    if not finishing:
        ctx.store.record(
            manifest_id,
            events.PUBLISHING_HELD,
            at,
            by=by,
            digest=approved.digest,
            held=[list(entry) for entry in approved.entries],
        )
    manifest = ctx.store.get(manifest_id)
    with ctx.connect() as warehouse:
        # The code the held versions must have been computed by is the manifest's (its runs
        # refuse other code), not the checkout of whoever approves.
        outcome = publish_held(
            warehouse,
            manifest_id,
            run,
            manifest.code_versions,
            lambda table, d: input_now(ctx.lake, table, d),
            approved=approved.entries,
        )
        exported = EXPORTED_FROM.qualified_name
        days = sorted({v.business_date for v in outcome.published if v.table_name == exported})
        exports = rewrite_partner_exports(warehouse, ctx.lake, days, manifest.side_effects_allowed)
    ctx.store.record(
        manifest_id,
        events.PUBLISHED_HELD,
        at,
        by=by,
        digest=approved.digest,
        finished_interrupted=finishing,
        published=len(outcome.published),
        refused=[
            {"asset": table, "date": d.isoformat(), "why": why}
            for (table, d), why in sorted(outcome.refused.items())
        ],
        **exports.to_json(),
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
        discarded = discard_held(warehouse, manifest_id, ctx.clock(), "rejected")
    ctx.store.record(
        manifest_id,
        events.REJECTED,
        ctx.clock(),
        by=who,
        reason=reason.strip(),
        discarded=len(discarded),
    )
    return len(discarded)
