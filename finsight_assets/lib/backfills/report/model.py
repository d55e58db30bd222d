"""The evidence a backfill report is rendered from: plain dataclasses, filled in by callers.

Nothing here knows Dagster or the warehouse: the backfill service gathers the manifest, its
approvals and events, per-partition counts and diffs, check outcomes and run timings into these.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from finsight_assets.lib.backfills.manifests import Manifest


@dataclass(frozen=True)
class CheckEvidence:
    name: str
    passed: bool
    blocking: bool
    summary: str


@dataclass(frozen=True)
class PartitionEvidence:
    table: str
    business_date: date
    rows_before: int | None
    rows_after: int | None
    added: int | None
    removed: int | None
    changed: int | None
    total_change: Mapping[str, str]
    checks: Sequence[CheckEvidence]
    version_id: str | None
    replaced_version_id: str | None
    run_id: str | None
    # A rollback (of this backfill, or of one it had replaced) took it off the day.
    rolled_back: bool = False
    # Computed and audited, held for approval: not live yet.
    held: bool = False
    # Per money column, the partition's sum published before and in this version (exact text).
    total_before: Mapping[str, str] = field(default_factory=dict)
    total_after: Mapping[str, str] = field(default_factory=dict)
    # A later publish took it off the day (not a rollback: nobody undid this one): that
    # backfill's manifest id, or (`replaced_by_run`) the run outside any backfill that did.
    replaced_by: str | None = None
    replaced_by_run: bool = False


@dataclass(frozen=True)
class RunTiming:
    run_id: str
    status: str
    started_at: datetime | None
    ended_at: datetime | None
    partitions: int

    @property
    def seconds(self) -> float | None:
        """Wall seconds from start to end, or None while either is unknown."""
        if self.started_at is None or self.ended_at is None:
            return None
        return (self.ended_at - self.started_at).total_seconds()


@dataclass(frozen=True)
class BackfillEvidence:
    manifest: Manifest
    # Who approved which evidence digest, and when: of what the backfill holds, or, once
    # published, of what its held publish published (`store.approvals_given`).
    approvals: Sequence[Mapping[str, Any]]
    events: Sequence[Mapping[str, Any]]
    partitions: Sequence[PartitionEvidence]
    runs: Sequence[RunTiming]
    # The digest an approval names while the backfill holds partitions (`approval.py`).
    evidence_digest: str | None = None
    # Its lifecycle stage (`lifecycle.standing`): what it may be offered (approve, publish...).
    stage: str | None = None
