"""What the write-audit-publish protocol passes around: runs, staged partitions, audit results,
published versions, and the ways it refuses."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from finsight_assets.lib.contract.run_tags import MODES
from finsight_assets.lib.contract.tables import TableSpec


class PublishError(RuntimeError):
    """The protocol refused to publish; the published table is unchanged."""


class AuditFailed(PublishError):
    """A blocking audit failed; carries every audit result, by table, for the evidence."""

    def __init__(self, audits: Mapping[str, Sequence[AuditResult]]):
        failures = [
            f"{table} {r.name} ({r.summary})"
            for table, results in audits.items()
            for r in results
            if r.blocking and not r.passed
        ]
        super().__init__(f"blocking audit(s) failed, nothing published: {'; '.join(failures)}")
        self.audits = {table: list(results) for table, results in audits.items()}


class PredecessorChanged(PublishError):
    """A partition this one was computed from was republished while it was being computed."""


class ConcurrentPublish(PublishError):
    """Another session published the same table at the same time; this one published nothing."""


@dataclass(frozen=True)
class RunInfo:
    """Who is publishing: the run, its mode and its clock (injected, never read from the OS)."""

    run_id: str
    mode: str
    clock: datetime
    manifest_id: str | None = None
    # The run's backfill needs approval: what it would publish is held (`hold.py`).
    hold: bool = False

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, not {self.mode!r}")


@dataclass(frozen=True)
class AuditInputs:
    """What an audit needs beyond the staged rows: for silver, the raw row counts per date and
    the rows of each outcome (VALID, REJECTED, DUPLICATE), counted or to count in a relation."""

    raw_rows: Mapping[date, int] = field(default_factory=dict)
    outcome_rows: str | None = None
    staged_outcome: str | None = None
    outcome_labels: Sequence[str] = ()
    # Per date, the rows of each outcome in `outcome_rows` (`reconcile.outcome_counts`), counted
    # once per source and shared by its tables; counted by each table's audit when absent.
    outcome_counts: Mapping[date, Mapping[str, int]] | None = None


@dataclass(frozen=True)
class AuditOutcome:
    """What an audit function found in the staged rows."""

    passed: bool
    summary: str
    metadata: Mapping[str, Any] = field(default_factory=dict)
    # Per business date: whether the audit passed for that partition (None when not per date).
    by_date: Mapping[date, bool] | None = None


@dataclass(frozen=True)
class AuditResult:
    """The outcome of one declared check on the staged rows: its name and blocking come from
    the check registry (`lib/wap/checks.py`)."""

    name: str
    passed: bool
    summary: str
    blocking: bool = True
    metadata: Mapping[str, Any] = field(default_factory=dict)
    by_date: Mapping[date, bool] | None = None

    def passed_on(self, business_date: date) -> bool:
        return self.passed if self.by_date is None else self.by_date.get(business_date, True)

    def figures_on(self, business_date: date) -> Mapping[str, Any]:
        """What the audit measured on one day (all it measured, if it did not go by day)."""
        by_date = self.metadata.get("by_date")
        if isinstance(by_date, Mapping) and business_date.isoformat() in by_date:
            return by_date[business_date.isoformat()]
        return {k: v for k, v in self.metadata.items() if k != "by_date"}


@dataclass(frozen=True)
class PartitionVersion:
    """A published version of one table partition, as recorded in audit.partition_versions."""

    version_id: str
    table_name: str
    business_date: date
    run_id: str
    code_version: str
    input_version: str
    mode: str
    row_count: int
    checksum: str
    published_at: datetime
    replaced_version_id: str | None
    predecessor_version_id: str | None
    manifest_id: str | None = None


@dataclass(frozen=True)
class CurrentVersion:
    """Which version of a partition readers see now, as recorded in audit.current_versions."""

    table_name: str
    business_date: date
    version_id: str


@dataclass(frozen=True)
class PublishLogEntry:
    """One partition's publish or rollback, as logged in audit.publish_log (`seq` orders it)."""

    seq: int
    table_name: str
    business_date: date
    action: str
    version_id: str | None
    previous_version_id: str | None
    run_id: str
    logged_at: datetime
    note: str


@dataclass(frozen=True)
class CheckRecord:
    """One audit's verdict on one partition in one run, as recorded in audit.check_results."""

    table_name: str
    business_date: date
    run_id: str
    check_name: str
    passed: bool
    blocking: bool
    detail: str
    checked_at: datetime
    metadata: str


@dataclass(frozen=True)
class PrunedVersion:
    """A replaced version whose history rows were deleted (`retention.py`); its record stays."""

    version_id: str
    table_name: str
    pruned_at: datetime


@dataclass(frozen=True)
class PublishLock:
    """A published table's lock row: a publish or rollback holds it for its transaction."""

    table_name: str
    holder: str | None
    locked_at: datetime | None


@dataclass(frozen=True)
class RunStep:
    """How long one step of a run took, for how many partitions and rows (audit.run_steps)."""

    run_id: str
    asset: str
    partitions: int
    raw_rows: int
    rows_written: int
    seconds: float
    run_started_at: datetime


@dataclass(frozen=True)
class Published:
    """What a publish put live, and the dates it held back: a blocking audit failed on them."""

    versions: list[PartitionVersion] = field(default_factory=list)
    # Date -> which blocking audits failed on it; those dates' current versions are unchanged.
    withheld: dict[date, str] = field(default_factory=dict)
    # What a run whose backfill needs approval held instead of publishing.
    held: list[PartitionVersion] = field(default_factory=list)


@dataclass
class LayerResult:
    """What one silver or gold computation did: per table, its audits and published versions."""

    audits: dict[str, list[AuditResult]] = field(default_factory=dict)
    versions: dict[str, list[PartitionVersion]] = field(default_factory=dict)
    # Per table, the versions held for approval instead of published.
    held: dict[str, list[PartitionVersion]] = field(default_factory=dict)
    # Every date not published, with why.
    failed: dict[date, str] = field(default_factory=dict)
    # Those of them audited and held back by a blocking audit (their verdicts are reported).
    withheld: dict[date, str] = field(default_factory=dict)
    raw_rows: int = 0
    # Why nothing was computed (a dry run's gold without published silver), if so.
    skipped: str | None = None


@dataclass(frozen=True)
class DayProfile:
    """One staged day as one aggregate pass found it (`profile.py`): its rows, their checksum
    (`profile.checksum`), its money columns' totals, and the rows breaking the contract schema
    (in all, and per check of `contract_sql.violations`); and the sum of its rows' check
    hashes where the warehouse has one (`Warehouse.check_hash_sql`), which its publish compares."""

    rows: int
    checksum: str
    totals: Mapping[str, Decimal]
    violating_rows: int
    failures: tuple[int, ...]
    check_sum: int | None = None


@dataclass
class StagedPartitions:
    """Candidate rows for some partitions of a table, sitting in a staging table."""

    table: TableSpec
    staging_table: str
    input_versions: dict[date, str]
    version_ids: dict[date, str]
    code_version: str
    run: RunInfo
    # (business_date of the predecessor partition, its version when staging) for self-dependent
    # tables: publishing refuses if that partition was republished in between.
    predecessor: tuple[date, str | None] | None = None
    # Self-dependent tables are recomputed up to their latest day: publishing refuses if a
    # later day was published meanwhile (it was computed from what this replaces).
    rolls_forward: bool = False
    # The published partitions these rows were computed from (gold: silver table -> date ->
    # version id): publishing refuses if one of them was republished in between.
    sources: Mapping[str, Mapping[date, str]] = field(default_factory=dict)
    # Per staged date, what the one aggregate pass over its rows found (`profile.py`): the
    # audits, publish and hold reuse it; None until it runs.
    profile: dict[date, DayProfile] | None = None

    @property
    def dates(self) -> list[date]:
        return sorted(self.input_versions)
