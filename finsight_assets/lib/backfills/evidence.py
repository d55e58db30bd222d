"""Gather a backfill's evidence: per partition (published, or held for approval), rows before
and after, the diff and every check verdict; the runs and their timings; the manifest,
approvals and events."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

from finsight_assets.lib.backfills.report.model import (
    BackfillEvidence,
    CheckEvidence,
    PartitionEvidence,
    RunTiming,
)
from finsight_assets.lib.contract.run_tags import PARTITION_TAG, RANGE_END_TAG, RANGE_START_TAG
from finsight_assets.lib.tables.checks import DIFF_AGAINST_PUBLISHED
from finsight_assets.lib.wap import audit_schema
from finsight_assets.lib.wap.audit_schema import ManifestVersion

if TYPE_CHECKING:
    from finsight_assets.lib.backfills.operations import Backfills


def evidence(ops: Backfills, manifest_id: str) -> BackfillEvidence:
    """What the backfill published and what it holds for approval, partition by partition."""
    manifest = ops.store.get(manifest_id)
    held = {
        (h.version.table_name, h.version.business_date, h.version.version_id)
        for h in ops.held(manifest_id)
    }
    versions = ops.published_versions(manifest_id) + [
        ManifestVersion(
            h.version.table_name,
            h.version.business_date,
            h.version.version_id,
            h.version.replaced_version_id,
            h.version.row_count,
            h.version.run_id,
            seq=0,
        )
        for h in ops.held(manifest_id)
    ]
    with ops.read() as warehouse:
        replaced = [v.replaced_version_id for v in versions if v.replaced_version_id]
        counts = audit_schema.row_counts(warehouse, replaced)
        current = audit_schema.all_current_versions(warehouse)
        checks: dict[tuple[str, date, str], list[audit_schema.CheckRecord]] = {}
        for record in audit_schema.checks_of_runs(warehouse, (v.run_id for v in versions)):
            key = (record.table_name, record.business_date, record.run_id)
            checks.setdefault(key, []).append(record)
    partitions = []
    for v in versions:
        is_held = (v.table_name, v.business_date, v.version_id) in held
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
    return BackfillEvidence(
        manifest=manifest,
        approvals=ops.approvals(manifest_id),
        events=ops.store.events(manifest_id),
        partitions=partitions,
        runs=_run_timings(ops, manifest_id),
        evidence_digest=ops.evidence_digest(manifest_id),
    )


def _run_timings(ops: Backfills, manifest_id: str) -> list[RunTiming]:
    timings = [
        RunTiming(
            run_id=run.run_id,
            status=run.status,
            started_at=_from_epoch(run.start_time),
            ended_at=_from_epoch(run.end_time),
            partitions=_partition_count(run.tags),
        )
        for backfill_id in ops.store.backfill_ids(manifest_id)
        for run in ops.webserver.backfill(backfill_id).runs
    ]
    return sorted(timings, key=lambda t: (t.started_at is None, t.started_at, t.run_id))


def _from_epoch(value: float | None) -> datetime | None:
    return datetime.fromtimestamp(value, tz=UTC) if value else None


def _partition_count(tags: Mapping[str, str]) -> int:
    start, end = tags.get(RANGE_START_TAG), tags.get(RANGE_END_TAG)
    if start and end:
        return (date.fromisoformat(end) - date.fromisoformat(start)).days + 1
    return 1 if tags.get(PARTITION_TAG) else 0
