"""Launch, retry and cancel: a manifest submitted as Dagster asset backfills, on the backfill
lane.

Each submission is an attempt with a fresh key: a `*_requested` event records the key, the
Dagster backfill carries it as a tag, and a `launched` or `retried` event records the backfill.
An attempt left without that last event (the process died in between) is settled before anything
is submitted again: launch, retry and cancel look its key up among the webserver's backfills and
record the backfill it submitted, or that it submitted none. Each event names who acted
(`by`), and nothing is submitted for a rejected manifest: a rejection is final.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from finsight_assets.lib.backfills.context import BackfillContext
from finsight_assets.lib.backfills.drift import refuse_drift
from finsight_assets.lib.backfills.events import (
    CANCELLED,
    COMPLETE,
    LAUNCH,
    REQUESTED,
    RETRY,
    Submission,
)
from finsight_assets.lib.backfills.export_scope import export_ranges, exports_to_run
from finsight_assets.lib.backfills.manifests import AssetRange, BackfillError, Manifest
from finsight_assets.lib.backfills.progress import (
    COMPLETED_BACKFILL_STATES,
    TERMINAL_BACKFILL_STATES,
    progress,
)
from finsight_assets.lib.backfills.versions import failed_ranges
from finsight_assets.lib.contract.run_tags import ATTEMPT_TAG, DRY_RUN, MANIFEST_TAG
from finsight_assets.lib.engines.webserver import PartitionRange
from finsight_assets.lib.tables.registry import UPSTREAM

# How much earlier than its attempt was recorded a backfill is looked for: the webserver's
# clock and ours may disagree.
CLOCK_SLACK = timedelta(days=1)


def launch(ctx: BackfillContext, manifest_id: str, by: str | None = None) -> str:
    """Submit the manifest as a Dagster asset backfill on the backfill lane, once.

    A backfill the approval matrix asks approval for holds what it computes until approved
    (`approval.py`). Refused if launched already, and on any drift of code or inputs from what
    it was planned on (see drift.py). `by` is who launches (`identity.actor`).
    """
    manifest = ctx.store.get(manifest_id)
    who = ctx.identity.actor(by)
    recovered = _recover(ctx, manifest_id, LAUNCH)
    if LAUNCH.what in recovered:
        return recovered[LAUNCH.what]
    if ctx.store.backfill_ids(manifest_id):
        raise BackfillError(f"{manifest_id} was launched already; use status, retry or cancel")
    refuse_drift(ctx, manifest, manifest.ranges)
    return _submit(ctx, manifest, manifest.ranges, LAUNCH, by=who)


def _moment(at: str | datetime) -> datetime:
    moment = datetime.fromisoformat(at) if isinstance(at, str) else at
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _recover(ctx: BackfillContext, manifest_id: str, *kinds: Submission) -> dict[str, str]:
    """Settle the attempts of `kinds` left without an outcome: record the backfill each one
    submitted, or that it submitted none. Per kind, the newest backfill recorded so."""
    events = ctx.store.events(manifest_id)
    by_event = {kind.requested: kind for kind in kinds}
    settled = {e.get("attempt") for e in events if e["event"] not in REQUESTED}
    pending = [e for e in events if e["event"] in by_event and e["attempt"] not in settled]
    if not pending:
        return {}
    since = min(_moment(e["at"]) for e in pending) - CLOCK_SLACK
    submitted = {
        b.tags[ATTEMPT_TAG]: b.backfill_id
        for b in ctx.webserver.backfills_since(since.timestamp())
        if b.tags.get(MANIFEST_TAG) == manifest_id and ATTEMPT_TAG in b.tags
    }
    recovered: dict[str, str] = {}
    for requested in pending:
        kind, attempt = by_event[requested["event"]], requested["attempt"]
        if attempt not in submitted:
            ctx.store.record(manifest_id, kind.not_submitted, ctx.clock(), attempt=attempt)
            continue
        fields = {k: v for k, v in requested.items() if k not in ("event", "at", "attempt")}
        backfill_id = recovered[kind.what] = submitted[attempt]
        ctx.store.record(
            manifest_id,
            kind.done,
            ctx.clock(),
            attempt=attempt,
            backfill_id=backfill_id,
            recovered=True,
            **fields,
        )
    return recovered


def _submit(
    ctx: BackfillContext,
    manifest: Manifest,
    partitions: Iterable[AssetRange],
    kind: Submission,
    **fields: Any,
) -> str:
    """Submit `partitions` as one attempt of `kind`; `fields` (who acts among them) go into
    both of its events. A rejected manifest is refused."""
    ctx.store.refuse_rejected(manifest.id, kind.what)
    attempt = uuid.uuid4().hex
    ctx.store.record(manifest.id, kind.requested, ctx.clock(), attempt=attempt, **fields)
    tags = {**manifest.run_tags(), ATTEMPT_TAG: attempt}
    backfill_id = ctx.webserver.launch_backfill(
        [
            PartitionRange(r.asset.split("."), r.start.isoformat(), r.end.isoformat())
            for r in partitions
        ],
        tags,
        title=f"{manifest.id} ({kind.what})",
        description=manifest.reason,
    )
    ctx.store.record(
        manifest.id, kind.done, ctx.clock(), attempt=attempt, backfill_id=backfill_id, **fields
    )
    return backfill_id


def retry(ctx: BackfillContext, manifest_id: str, by: str | None = None) -> str:
    """Re-launch only the partitions that failed (not published), once the backfill ended.

    Refused on any drift of the code or of the raw inputs of the days it recomputes, and for a
    rejected manifest.
    """
    manifest = ctx.store.get(manifest_id)
    who = ctx.identity.actor(by)
    ctx.store.refuse_rejected(manifest_id, RETRY.what)
    if manifest.mode == DRY_RUN:
        raise BackfillError("a dry run publishes nothing; plan a new dry run instead")
    recovered = _recover(ctx, manifest_id, LAUNCH, RETRY)
    if RETRY.what in recovered:
        return recovered[RETRY.what]
    if not progress(ctx, manifest_id).finished:
        raise BackfillError(f"{manifest_id} is still running; wait or cancel it first")
    missing = failed_ranges(ctx, manifest_id)
    if not missing:
        raise BackfillError(f"{manifest_id} has no failed partition to retry")
    return _submit_missing(ctx, manifest, missing, RETRY, who, [])


def complete(ctx: BackfillContext, manifest_id: str, by: str | None = None) -> str | None:
    """Launch, once, the part of a backfill's scope its Dagster selection left out (gold and the
    export for a UI backfill of silver alone, the export for one of silver and gold), after that
    selection computed without a failure.
    None when nothing was left out, or when it is not time (still running, or failed: a person
    retries, which covers the same partitions)."""
    manifest = ctx.store.get(manifest_id)
    if manifest.mode == DRY_RUN or ctx.store.rejection(manifest_id) is not None:
        return None
    recovered = _recover(ctx, manifest_id, COMPLETE)
    if COMPLETE.what in recovered:
        return recovered[COMPLETE.what]
    if any(e["event"] == COMPLETE.requested for e in ctx.store.events(manifest_id)):
        return None
    seen = progress(ctx, manifest_id)
    if (
        not seen.finished
        or seen.failed
        or any(b.status not in COMPLETED_BACKFILL_STATES for b in seen.backfills)
    ):
        return None
    missing = failed_ranges(ctx, manifest_id)
    exports = exports_to_run(ctx, manifest, seen.backfills, missing)
    if not (missing or exports):
        return None
    return _submit_missing(ctx, manifest, missing, COMPLETE, ctx.identity.actor(by), exports)


def _submit_missing(
    ctx: BackfillContext,
    manifest: Manifest,
    missing: list[AssetRange],
    kind: Submission,
    by: str,
    exports: list[AssetRange],
) -> str:
    """Submit the missing warehouse ranges and the export days to run (`exports`, else those
    downstream of the missing ranges), refusing drift."""
    extra = exports or [
        AssetRange(export.asset, r.start, r.end)
        for export in export_ranges(manifest)
        for r in missing
        if r.asset in UPSTREAM[export.asset]
    ]
    refuse_drift(ctx, manifest, [*missing, *extra])
    return _submit(
        ctx,
        manifest,
        [*missing, *extra],
        kind,
        by=by,
        ranges=[{"asset": r.asset, "start": r.start, "end": r.end} for r in missing],
    )


def cancel(ctx: BackfillContext, manifest_id: str, by: str | None = None) -> list[str]:
    """Cancel every backfill of the manifest that is still running (an interrupted submission's
    too); a cancellation is recorded, with who cancelled, only when one was."""
    ctx.store.get(manifest_id)
    who = ctx.identity.actor(by)
    _recover(ctx, manifest_id, LAUNCH, RETRY, COMPLETE)
    cancelled = []
    for backfill_id in ctx.store.backfill_ids(manifest_id):
        if ctx.webserver.backfill(backfill_id).status not in TERMINAL_BACKFILL_STATES:
            ctx.webserver.cancel_backfill(backfill_id)
            cancelled.append(backfill_id)
    if cancelled:
        ctx.store.record(manifest_id, CANCELLED, ctx.clock(), by=who, backfill_ids=cancelled)
    return cancelled
