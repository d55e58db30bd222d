"""Gather a backfill's evidence: per partition (published, or held for approval), rows before
and after, the diff, every check verdict and what took it off its day since (a rollback, or a
later publish); the runs and their timings; the manifest, its stage, approvals (of what it
holds, or of what it published: `approvals_of`) and events."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from finsight_assets.lib.backfills.context import BackfillContext
from finsight_assets.lib.backfills.lifecycle import Standing, standing
from finsight_assets.lib.backfills.report.model import (
    BackfillEvidence,
    CheckEvidence,
    PartitionEvidence,
    RunTiming,
)
from finsight_assets.lib.backfills.stages import AWAITING_APPROVAL, HELD
from finsight_assets.lib.backfills.successors import Fate, fates
from finsight_assets.lib.backfills.versions import held, published_versions
from finsight_assets.lib.contract.run_tags import PARTITION_TAG, RANGE_END_TAG, RANGE_START_TAG
from finsight_assets.lib.tables.checks import DIFF_AGAINST_PUBLISHED
from finsight_assets.lib.wap.check_records import checks_of_runs
from finsight_assets.lib.wap.model import CheckRecord
from finsight_assets.lib.wap.publish_history import ManifestVersion
from finsight_assets.lib.wap.versions import row_counts


def approvals_of(ctx: BackfillContext, manifest_id: str, now: Standing) -> list[dict[str, Any]]:
    """The approvals that count for the backfill as it stands (`store.approvals_given`): while
    it awaits approval or holds approved evidence, of what it holds; otherwise of what its last
    held publish published, or, if none did, of what it still holds (a cancelled one's)."""
    if now.stage in (AWAITING_APPROVAL, HELD):
        return ctx.store.approvals_given(manifest_id, now.evidence_digest)
    published = ctx.store.approvals_given(manifest_id, None)
    if published or now.evidence_digest is None:
        return published
    return ctx.store.approvals(manifest_id, now.evidence_digest)


def published_now(ctx: BackfillContext, manifest_id: str) -> dict[str, object]:
    """How the partitions the backfill published stand now, for `status`: how many are live,
    rolled back, and replaced per later backfill or run (by id)."""
    published = published_versions(ctx, manifest_id)
    with ctx.read() as warehouse:
        found = fates(warehouse, manifest_id, published).values()
    replaced: dict[str, int] = {}
    for f in found:
        if f.replaced_by is not None:
            replaced[f.replaced_by] = replaced.get(f.replaced_by, 0) + 1
    return {
        "live": sum(1 for f in found if f.live),
        "rolled_back": sum(1 for f in found if f.rolled_back),
        "replaced_by_later": dict(sorted(replaced.items())),
    }


def evidence(
    ctx: BackfillContext, manifest_id: str, now: Standing | None = None
) -> BackfillEvidence:
    """What the backfill published and what it holds for approval, partition by partition,
    as it stands `now` (default: `lifecycle.standing`)."""
    manifest = ctx.store.get(manifest_id)
    now = now or standing(ctx, manifest_id)
    holds = held(ctx, manifest_id)
    held_keys = {
        (h.version.table_name, h.version.business_date, h.version.version_id) for h in holds
    }
    published = published_versions(ctx, manifest_id)
    versions = published + [
        ManifestVersion(
            h.version.table_name,
            h.version.business_date,
            h.version.version_id,
            h.version.replaced_version_id,
            h.version.row_count,
            h.version.run_id,
            seq=0,
        )
        for h in holds
    ]
    with ctx.read() as warehouse:
        replaced = [v.replaced_version_id for v in versions if v.replaced_version_id]
        counts = row_counts(warehouse, replaced)
        fate = fates(warehouse, manifest_id, published)
        checks: dict[tuple[str, date, str], list[CheckRecord]] = {}
        for record in checks_of_runs(warehouse, (v.run_id for v in versions)):
            key = (record.table_name, record.business_date, record.run_id)
            checks.setdefault(key, []).append(record)
    partitions = []
    for v in versions:
        is_held = (v.table_name, v.business_date, v.version_id) in held_keys
        stands = Fate() if is_held else fate[(v.table_name, v.business_date, v.version_id)]
        found = checks.get((v.table_name, v.business_date, v.run_id), [])
        diff = next(
            (json.loads(c.metadata) for c in found if c.check_name == DIFF_AGAINST_PUBLISHED.name),
            {},
        )
        partitions.append(
            PartitionEvidence(
                table=v.table_name,
                business_date=v.business_date,
                rows_before=counts.get(v.replaced_version_id) if v.replaced_version_id else None,
                rows_after=v.row_count,
                added=diff.get("added"),
                removed=diff.get("removed"),
                changed=diff.get("changed"),
                total_change=diff.get("total_change", {}),
                total_before=diff.get("total_before", {}),
                total_after=diff.get("total_after", {}),
                checks=[
                    CheckEvidence(c.check_name, bool(c.passed), bool(c.blocking), c.detail)
                    for c in found
                ],
                version_id=v.version_id,
                replaced_version_id=v.replaced_version_id,
                run_id=v.run_id,
                rolled_back=stands.rolled_back,
                replaced_by=stands.replaced_by,
                replaced_by_run=stands.replaced_by_run,
                held=is_held,
            )
        )
    return BackfillEvidence(
        manifest=manifest,
        approvals=approvals_of(ctx, manifest_id, now),
        events=ctx.store.events(manifest_id),
        partitions=partitions,
        runs=_run_timings(ctx, manifest_id),
        evidence_digest=now.evidence_digest,
        stage=now.stage,
    )


def _run_timings(ctx: BackfillContext, manifest_id: str) -> list[RunTiming]:
    timings = [
        RunTiming(
            run_id=run.run_id,
            status=run.status,
            started_at=_from_epoch(run.start_time),
            ended_at=_from_epoch(run.end_time),
            partitions=_partition_count(run.tags),
        )
        for backfill_id in ctx.store.backfill_ids(manifest_id)
        for run in ctx.webserver.backfill(backfill_id).runs
    ]
    return sorted(timings, key=lambda t: (t.started_at is None, t.started_at, t.run_id))


def _from_epoch(value: float | None) -> datetime | None:
    return datetime.fromtimestamp(value, tz=UTC) if value else None


def _partition_count(tags: Mapping[str, str]) -> int:
    start, end = tags.get(RANGE_START_TAG), tags.get(RANGE_END_TAG)
    if start and end:
        return (date.fromisoformat(end) - date.fromisoformat(start)).days + 1
    return 1 if tags.get(PARTITION_TAG) else 0
