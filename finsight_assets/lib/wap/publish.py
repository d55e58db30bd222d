"""Write, audit, publish: the one protocol every silver and gold partition goes through.

stage    candidate rows land in a staging table no reader looks at, lineage columns attached;
audit    checks run against the staged rows; a failing blocking check stops here;
publish  one transaction keeps the replaced rows in history, swaps the partitions, records the
         new versions; readers see the old partitions or the new ones, never a mix;
rollback one transaction per table puts the replaced versions back, and records that too.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from finsight_assets.lib.contract.tables import LINEAGE_COLUMN_NAMES, TableSpec
from finsight_assets.lib.engines.warehouse import (
    AUDIT_SCHEMA,
    PUBLISH_LOG_SEQUENCE,
    STAGING_SCHEMA,
    Warehouse,
    date_list,
    date_literal,
    history_table,
    string_literal,
    timestamp_literal,
)

logger = logging.getLogger(__name__)

LIVE, BACKFILL, DRY_RUN = "LIVE", "BACKFILL", "DRY_RUN"
MODES = (LIVE, BACKFILL, DRY_RUN)


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


@dataclass(frozen=True)
class RunInfo:
    """Who is publishing: the run, its mode and its clock (injected, never read from the OS)."""

    run_id: str
    mode: str
    clock: datetime
    manifest_id: str | None = None

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, not {self.mode!r}")


@dataclass(frozen=True)
class AuditResult:
    """The outcome of one audit of the staged rows."""

    name: str
    passed: bool
    summary: str
    blocking: bool = True
    metadata: Mapping[str, Any] = field(default_factory=dict)
    # Per business date: whether the audit passed for that partition (None when not per date).
    by_date: Mapping[date, bool] | None = None


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


@dataclass
class LayerResult:
    """What one silver or gold computation did: per table, its audits and published versions."""

    audits: dict[str, list[AuditResult]] = field(default_factory=dict)
    versions: dict[str, list[PartitionVersion]] = field(default_factory=dict)
    failed: dict[date, str] = field(default_factory=dict)
    raw_rows: int = 0
    # Why nothing was computed (a dry run's gold without published silver), if so.
    skipped: str | None = None

    @property
    def published_dates(self) -> list[date]:
        return sorted({v.business_date for vs in self.versions.values() for v in vs})


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

    @property
    def dates(self) -> list[date]:
        return sorted(self.input_versions)


Audit = Callable[[Warehouse, StagedPartitions], AuditResult]


def _staging_name(table: TableSpec, run_id: str) -> str:
    suffix = "".join(ch for ch in run_id if ch.isalnum())[:12] or "adhoc"
    return f"{STAGING_SCHEMA}.{table.schema}__{table.name}__{suffix}"


def _lineage_values(
    run: RunInfo,
    code_version: str,
    input_versions: Mapping[date, str],
    version_ids: Mapping[date, str],
) -> str:
    rows = ", ".join(
        f"({date_literal(d)}, {string_literal(run.run_id)}, {string_literal(code_version)}, "
        f"{string_literal(run.mode)}, {string_literal(input_versions[d])}, "
        f"{string_literal(version_ids[d])})"
        for d in sorted(input_versions)
    )
    names = ", ".join(("business_date",) + LINEAGE_COLUMN_NAMES)
    return f"(VALUES {rows}) AS lineage({names})"


def stage(
    warehouse: Warehouse,
    table: TableSpec,
    run: RunInfo,
    code_version: str,
    input_versions: Mapping[date, str],
    candidate_sql: str,
    predecessor: tuple[date, str | None] | None = None,
    rolls_forward: bool = False,
) -> StagedPartitions:
    """Stage the rows `candidate_sql` selects (business columns) for the given partitions.

    Rows whose business_date is not among `input_versions` are not staged.
    """
    if not input_versions:
        raise ValueError(f"{table.qualified_name}: nothing to stage (no partitions)")
    version_ids = {d: uuid.uuid4().hex[:16] for d in input_versions}
    staging_table = _staging_name(table, run.run_id)
    business = ", ".join(f"candidate.{name}" for name in table.business_columns)
    lineage = ", ".join(f"lineage.{name}" for name in LINEAGE_COLUMN_NAMES)
    warehouse.execute(
        f"CREATE OR REPLACE TABLE {staging_table} AS "
        f"SELECT {business}, {lineage} FROM ({candidate_sql}) AS candidate "
        f"JOIN {_lineage_values(run, code_version, input_versions, version_ids)} "
        "ON candidate.business_date = lineage.business_date"
    )
    return StagedPartitions(
        table=table,
        staging_table=staging_table,
        input_versions=dict(input_versions),
        version_ids=version_ids,
        code_version=code_version,
        run=run,
        predecessor=predecessor,
        rolls_forward=rolls_forward,
    )


def audit(
    warehouse: Warehouse, staged: StagedPartitions, audits: Sequence[Audit]
) -> list[AuditResult]:
    """Run every audit against the staged rows and record the results per partition."""
    results = [check(warehouse, staged) for check in audits]
    rows = []
    for result in results:
        for d in staged.dates:
            passed = result.passed if result.by_date is None else result.by_date.get(d, True)
            rows.append(
                f"({string_literal(staged.table.qualified_name)}, {date_literal(d)}, "
                f"{string_literal(staged.run.run_id)}, {string_literal(result.name)}, "
                f"{str(passed).upper()}, {str(result.blocking).upper()}, "
                f"{string_literal(result.summary)}, "
                f"{timestamp_literal(staged.run.clock)}, "
                f"{string_literal(_partition_metadata(result, d))})"
            )
    if rows:
        warehouse.execute(f"INSERT INTO {AUDIT_SCHEMA}.check_results VALUES {', '.join(rows)}")
    return results


def _partition_metadata(result: AuditResult, d: date) -> str:
    """The slice of an audit's metadata about one partition, as JSON (the whole of it if none)."""
    by_date = result.metadata.get("by_date")
    if isinstance(by_date, Mapping) and d.isoformat() in by_date:
        return json.dumps(by_date[d.isoformat()], default=str, sort_keys=True)
    return json.dumps(result.metadata, default=str, sort_keys=True)


def current_versions(
    warehouse: Warehouse, table_name: str, dates: Sequence[date]
) -> dict[date, str]:
    """The currently published version id of each given partition that has one."""
    if not dates:
        return {}
    rows = warehouse.fetchall(
        f"SELECT business_date, version_id FROM {AUDIT_SCHEMA}.current_versions "
        f"WHERE table_name = {string_literal(table_name)} "
        f"AND business_date IN ({date_list(dates)})"
    )
    return {row[0]: row[1] for row in rows}


def _partition_stats(warehouse: Warehouse, staged: StagedPartitions) -> dict[date, tuple[int, str]]:
    row_hash = warehouse.row_hash_sql(staged.table.business_columns)
    rows = warehouse.fetchall(
        f"SELECT business_date, COUNT(*), SUM({row_hash}) FROM {staged.staging_table} "
        "GROUP BY business_date"
    )
    stats = {d: (0, "0:0") for d in staged.dates}
    for business_date, count, total in rows:
        stats[business_date] = (int(count), f"{int(count)}:{int(total) % (1 << 64):016x}")
    return stats


def publish(warehouse: Warehouse, *staged_tables: StagedPartitions) -> list[PartitionVersion]:
    """Swap the staged partitions of one or more tables in, in one transaction; record versions."""
    stats = {id(staged): _partition_stats(warehouse, staged) for staged in staged_tables}
    versions: list[PartitionVersion] = []
    with warehouse.transaction():
        for staged in staged_tables:
            versions.extend(_swap(warehouse, staged, stats[id(staged)]))
    for staged in staged_tables:
        logger.info(
            "published %s for %d partition(s)", staged.table.qualified_name, len(staged.dates)
        )
    return versions


def latest_published_date(warehouse: Warehouse, table_name: str) -> date | None:
    return warehouse.fetchall(
        f"SELECT MAX(business_date) FROM {AUDIT_SCHEMA}.current_versions "
        f"WHERE table_name = {string_literal(table_name)}"
    )[0][0]


def _check_chain(warehouse: Warehouse, staged: StagedPartitions) -> None:
    name = staged.table.qualified_name
    if staged.rolls_forward:
        latest = latest_published_date(warehouse, name)
        if latest is not None and latest > staged.dates[-1]:
            raise PredecessorChanged(
                f"{name} {latest} was published while {staged.dates[0]}..{staged.dates[-1]} "
                "was computed; it was computed from what this would replace, so nothing was "
                "published: run again to roll forward to it"
            )
    if staged.predecessor is None:
        return
    predecessor_date, expected = staged.predecessor
    now = current_versions(warehouse, name, [predecessor_date]).get(predecessor_date)
    if now != expected:
        raise PredecessorChanged(
            f"{name} {predecessor_date} was republished (version {expected} -> {now}) "
            "while the following partitions were computed from it; recompute them"
        )


def _swap(
    warehouse: Warehouse, staged: StagedPartitions, stats: Mapping[date, tuple[int, str]]
) -> list[PartitionVersion]:
    """Inside the caller's transaction: keep the replaced rows, swap, record the versions."""
    table = staged.table
    name = table.qualified_name
    dates = date_list(staged.dates)
    columns = ", ".join(table.business_columns + LINEAGE_COLUMN_NAMES)
    _check_chain(warehouse, staged)
    replaced = current_versions(warehouse, name, staged.dates)
    warehouse.execute(
        f"INSERT INTO {history_table(table)} ({columns}) SELECT {columns} FROM {name} "
        f"WHERE business_date IN ({dates})"
    )
    warehouse.execute(f"DELETE FROM {name} WHERE business_date IN ({dates})")
    warehouse.execute(
        f"INSERT INTO {name} ({columns}) SELECT {columns} FROM {staged.staging_table}"
    )
    versions = [
        PartitionVersion(
            version_id=staged.version_ids[d],
            table_name=name,
            business_date=d,
            run_id=staged.run.run_id,
            code_version=staged.code_version,
            input_version=staged.input_versions[d],
            mode=staged.run.mode,
            row_count=stats[d][0],
            checksum=stats[d][1],
            published_at=staged.run.clock,
            replaced_version_id=replaced.get(d),
            predecessor_version_id=staged.predecessor[1] if staged.predecessor else None,
            manifest_id=staged.run.manifest_id,
        )
        for d in staged.dates
    ]
    _record_versions(warehouse, versions)
    _set_current(warehouse, name, {v.business_date: v.version_id for v in versions})
    _log(
        warehouse,
        name,
        "publish",
        {v.business_date: (v.version_id, v.replaced_version_id) for v in versions},
        staged.run,
        note="",
    )
    return versions


def drop_staged(warehouse: Warehouse, staged: StagedPartitions) -> None:
    warehouse.execute(f"DROP TABLE IF EXISTS {staged.staging_table}")


def write_audit_publish(
    warehouse: Warehouse,
    table: TableSpec,
    run: RunInfo,
    code_version: str,
    input_versions: Mapping[date, str],
    candidate_sql: str,
    audits: Sequence[Audit],
    predecessor: tuple[date, str | None] | None = None,
    rolls_forward: bool = False,
) -> tuple[list[AuditResult], list[PartitionVersion]]:
    """Stage, audit and (unless a blocking audit fails or the run is a dry run) publish."""
    staged = stage(
        warehouse,
        table,
        run,
        code_version,
        input_versions,
        candidate_sql,
        predecessor,
        rolls_forward,
    )
    try:
        results = audit(warehouse, staged, audits)
        return results, publish_audited(warehouse, {table.qualified_name: results}, staged)
    finally:
        drop_staged(warehouse, staged)


def publish_audited(
    warehouse: Warehouse,
    audits: Mapping[str, Sequence[AuditResult]],
    *staged_tables: StagedPartitions,
) -> list[PartitionVersion]:
    """Publish the audited tables together, unless a blocking audit failed (AuditFailed) or the
    run is a dry run (nothing published)."""
    if any(r.blocking and not r.passed for results in audits.values() for r in results):
        raise AuditFailed(audits)
    if any(staged.run.mode == DRY_RUN for staged in staged_tables):
        logger.info("dry run: %s audited, not published", ", ".join(audits))
        return []
    return publish(warehouse, *staged_tables)


def _record_versions(warehouse: Warehouse, versions: Sequence[PartitionVersion]) -> None:
    def literal(value: Any) -> str:
        if value is None:
            return "NULL"
        if isinstance(value, int):
            return str(value)
        if isinstance(value, datetime):
            return timestamp_literal(value)
        if isinstance(value, date):
            return date_literal(value)
        return string_literal(str(value))

    rows = ", ".join(
        "(" + ", ".join(literal(getattr(v, f)) for f in PartitionVersion.__dataclass_fields__) + ")"
        for v in versions
    )
    names = ", ".join(PartitionVersion.__dataclass_fields__)
    warehouse.execute(f"INSERT INTO {AUDIT_SCHEMA}.partition_versions ({names}) VALUES {rows}")


def _set_current(warehouse: Warehouse, table_name: str, current: Mapping[date, str | None]) -> None:
    warehouse.execute(
        f"DELETE FROM {AUDIT_SCHEMA}.current_versions WHERE table_name = "
        f"{string_literal(table_name)} AND business_date IN ({date_list(list(current))})"
    )
    rows = [
        f"({string_literal(table_name)}, {date_literal(d)}, {string_literal(v)})"
        for d, v in current.items()
        if v is not None
    ]
    if rows:
        warehouse.execute(f"INSERT INTO {AUDIT_SCHEMA}.current_versions VALUES {', '.join(rows)}")


def _log(
    warehouse: Warehouse,
    table_name: str,
    action: str,
    changes: Mapping[date, tuple[str | None, str | None]],
    run: RunInfo,
    note: str,
) -> None:
    def text(value: str | None) -> str:
        return "NULL" if value is None else string_literal(value)

    rows = ", ".join(
        f"({string_literal(table_name)}, {date_literal(d)}, "
        f"{string_literal(action)}, {text(new)}, {text(old)}, {string_literal(run.run_id)}, "
        f"{timestamp_literal(run.clock)}, "
        f"{string_literal(note)})"
        for d, (new, old) in sorted(changes.items())
    )
    # A sequence, not MAX(seq) + 1: two sessions publishing at once get distinct numbers.
    seq = warehouse.next_value_sql(PUBLISH_LOG_SEQUENCE)
    columns = "table_name, business_date, action, version_id, previous_version_id, run_id, "
    columns += "logged_at, note"
    warehouse.execute(
        f"INSERT INTO {AUDIT_SCHEMA}.publish_log (seq, {columns}) "
        f"SELECT {seq}, {columns} FROM (VALUES {rows}) AS logged ({columns})"
    )


def get_versions(warehouse: Warehouse, version_ids: Sequence[str]) -> list[PartitionVersion]:
    if not version_ids:
        return []
    names = ", ".join(PartitionVersion.__dataclass_fields__)
    ids = ", ".join(string_literal(v) for v in version_ids)
    rows = warehouse.fetchall(
        f"SELECT {names} FROM {AUDIT_SCHEMA}.partition_versions WHERE version_id IN ({ids})"
    )
    return [PartitionVersion(*row) for row in rows]


def rollback(
    warehouse: Warehouse,
    table: TableSpec,
    version_ids: Sequence[str],
    run: RunInfo,
    *,
    force: bool = False,
    note: str = "",
) -> dict[date, str | None]:
    """Restore, in one transaction, the version each given version replaced.

    Refuses (PublishError) when one of those partitions was republished since, unless `force`;
    returns the version now current per partition (None where the partition is now empty).
    """
    name = table.qualified_name
    versions = get_versions(warehouse, version_ids)
    missing = set(version_ids) - {v.version_id for v in versions}
    if missing:
        raise PublishError(f"{name}: unknown version id(s) {sorted(missing)}")
    if len({v.business_date for v in versions}) != len(versions):
        raise PublishError(f"{name}: give one version per partition to roll back")
    return restore(
        warehouse,
        table,
        {v.business_date: (v.version_id, v.replaced_version_id) for v in versions},
        run,
        force=force,
        note=note,
    )


def restore(
    warehouse: Warehouse,
    table: TableSpec,
    targets: Mapping[date, tuple[str, str | None]],
    run: RunInfo,
    *,
    force: bool = False,
    note: str = "",
) -> dict[date, str | None]:
    """Per partition (expected current version, version to restore): restore, one transaction.

    Restoring None empties the partition. Refuses when a partition's current version is not the
    expected one (republished since), unless `force`.
    """
    with warehouse.transaction():
        return restore_in_transaction(warehouse, table, targets, run, force=force, note=note)


def restore_in_transaction(
    warehouse: Warehouse,
    table: TableSpec,
    targets: Mapping[date, tuple[str, str | None]],
    run: RunInfo,
    *,
    force: bool = False,
    note: str = "",
) -> dict[date, str | None]:
    """`restore`, inside the caller's transaction (several tables restored atomically)."""
    name = table.qualified_name
    columns = ", ".join(table.business_columns + LINEAGE_COLUMN_NAMES)
    history = history_table(table)
    current = current_versions(warehouse, name, list(targets))
    moved = [d for d, (expected, _) in targets.items() if current.get(d) != expected]
    if moved and not force:
        described = ", ".join(f"{d} (now {current.get(d)})" for d in sorted(moved))
        raise PublishError(
            f"{name}: republished since, refusing to roll back (use force): {described}"
        )
    restored = {d: back for d, (_, back) in targets.items()}
    dates = date_list(list(restored))
    warehouse.execute(
        f"INSERT INTO {history} ({columns}) SELECT {columns} FROM {name} "
        f"WHERE business_date IN ({dates})"
    )
    warehouse.execute(f"DELETE FROM {name} WHERE business_date IN ({dates})")
    back = [v for v in restored.values() if v is not None]
    if back:
        ids = ", ".join(string_literal(v) for v in back)
        warehouse.execute(
            f"INSERT INTO {name} ({columns}) SELECT {columns} FROM {history} "
            f"WHERE _version_id IN ({ids})"
        )
        warehouse.execute(f"DELETE FROM {history} WHERE _version_id IN ({ids})")
    _set_current(warehouse, name, restored)
    _log(
        warehouse,
        name,
        "rollback",
        {d: (restored[d], current.get(d)) for d in restored},
        run,
        note=note,
    )
    logger.info("rolled back %s for %d partition(s)", name, len(restored))
    return restored
