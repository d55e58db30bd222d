"""Gather a backfill's evidence: per partition (published, or held for approval), rows before
and after, the diff and every check verdict; the runs and their timings; the manifest,
approvals (of what it holds, or of what it published: `store.approvals_given`) and events."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, date, datetime

from finsight_assets.lib.backfills.context import BackfillContext
from finsight_assets.lib.backfills.report.model import (
    BackfillEvidence,
    CheckEvidence,
    PartitionEvidence,
    RunTiming,
)
from finsight_assets.lib.backfills.versions import evidence_digest, held, published_versions
from finsight_assets.lib.contract.run_tags import PARTITION_TAG, RANGE_END_TAG, RANGE_START_TAG
from finsight_assets.lib.tables.checks import DIFF_AGAINST_PUBLISHED
from finsight_assets.lib.wap.check_records import checks_of_runs
from finsight_assets.lib.wap.model import CheckRecord
from finsight_assets.lib.wap.publish_history import ManifestVersion
from finsight_assets.lib.wap.versions import all_current_versions, row_counts


def evidence(ctx: BackfillContext, manifest_id: str) -> BackfillEvidence:
    """What the backfill published and what it holds for approval, partition by partition."""
    manifest = ctx.store.get(manifest_id)
    holds = held(ctx, manifest_id)
    held_keys = {
        (h.version.table_name, h.version.business_date, h.version.version_id) for h in holds
    }
    versions = published_versions(ctx, manifest_id) + [
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
        current = all_current_versions(warehouse)
        checks: dict[tuple[str, date, str], list[CheckRecord]] = {}
        for record in checks_of_runs(warehouse, (v.run_id for v in versions)):
            key = (record.table_name, record.business_date, record.run_id)
            checks.setdefault(key, []).append(record)
    partitions = []
    for v in versions:
        is_held = (v.table_name, v.business_date, v.version_id) in held_keys
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
                rolled_back=not is_held
                and current.get((v.table_name, v.business_date)) != v.version_id,
                held=is_held,
            )
        )
    held_digest = evidence_digest(ctx, manifest_id)
    return BackfillEvidence(
        manifest=manifest,
        approvals=ctx.store.approvals_given(manifest_id, held_digest),
        events=ctx.store.events(manifest_id),
        partitions=partitions,
        runs=_run_timings(ctx, manifest_id),
        evidence_digest=held_digest,
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
