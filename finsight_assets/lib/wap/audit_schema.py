"""The audit schema: the protocol's own tables, and every query on them.

partition_versions  one row per published version of a table partition (immutable);
current_versions    which version of each partition readers see now;
publish_log         every publish and rollback, in order (a sequence numbers them);
check_results       every audit's verdict per partition and run;
run_steps           how long each step took for how many rows (what estimates come from).

Nothing else in the code names these tables.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from finsight_assets.lib.engines.warehouse import (
    Warehouse,
    date_list,
    date_literal,
    string_literal,
    timestamp_literal,
)
from finsight_assets.lib.wap.model import ConcurrentPublish, PartitionVersion

AUDIT_SCHEMA = "audit"
PUBLISH_LOG_SEQUENCE = f"{AUDIT_SCHEMA}.publish_log_seq"
_VERSION_FIELDS = tuple(f.name for f in dataclasses.fields(PartitionVersion))
_LOG_COLUMNS = (
    "table_name, business_date, action, version_id, previous_version_id, run_id, logged_at, note"
)


def create(warehouse: Warehouse, lock_names: Sequence[str]) -> None:
    """Create the audit schema's tables and sequence if missing, with a publish lock row for
    each of `lock_names` (the published tables)."""
    warehouse.execute(f"CREATE SCHEMA IF NOT EXISTS {AUDIT_SCHEMA}")
    warehouse.execute(
        f"CREATE TABLE IF NOT EXISTS {AUDIT_SCHEMA}.partition_versions ("
        "version_id VARCHAR, table_name VARCHAR, business_date DATE, run_id VARCHAR, "
        "code_version VARCHAR, input_version VARCHAR, mode VARCHAR, row_count BIGINT, "
        "checksum VARCHAR, published_at TIMESTAMP WITH TIME ZONE, replaced_version_id VARCHAR, "
        "predecessor_version_id VARCHAR, manifest_id VARCHAR)"
    )
    warehouse.execute(
        f"CREATE TABLE IF NOT EXISTS {AUDIT_SCHEMA}.current_versions ("
        "table_name VARCHAR, business_date DATE, version_id VARCHAR)"
    )
    warehouse.execute(f"CREATE SEQUENCE IF NOT EXISTS {PUBLISH_LOG_SEQUENCE}")
    warehouse.execute(
        f"CREATE TABLE IF NOT EXISTS {AUDIT_SCHEMA}.publish_log ("
        "seq BIGINT, table_name VARCHAR, business_date DATE, action VARCHAR, version_id VARCHAR, "
        "previous_version_id VARCHAR, run_id VARCHAR, logged_at TIMESTAMP WITH TIME ZONE, "
        "note VARCHAR)"
    )
    warehouse.execute(
        f"CREATE TABLE IF NOT EXISTS {AUDIT_SCHEMA}.check_results ("
        "table_name VARCHAR, business_date DATE, run_id VARCHAR, check_name VARCHAR, "
        "passed BOOLEAN, blocking BOOLEAN, detail VARCHAR, checked_at TIMESTAMP WITH TIME ZONE, "
        "metadata VARCHAR)"
    )
    warehouse.execute(
        f"CREATE TABLE IF NOT EXISTS {AUDIT_SCHEMA}.publish_locks ("
        "table_name VARCHAR, holder VARCHAR, locked_at TIMESTAMP WITH TIME ZONE)"
    )
    for name in lock_names:
        warehouse.execute(
            f"INSERT INTO {AUDIT_SCHEMA}.publish_locks (table_name) SELECT {string_literal(name)} "
            f"WHERE NOT EXISTS (SELECT 1 FROM {AUDIT_SCHEMA}.publish_locks "
            f"WHERE table_name = {string_literal(name)})"
        )
    warehouse.execute(
        f"CREATE TABLE IF NOT EXISTS {AUDIT_SCHEMA}.run_steps ("
        "run_id VARCHAR, asset VARCHAR, partitions BIGINT, raw_rows BIGINT, rows_written BIGINT, "
        "seconds DOUBLE, run_started_at TIMESTAMP WITH TIME ZONE)"
    )


def _literal(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return str(value).upper()
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, datetime):
        return timestamp_literal(value)
    if isinstance(value, date):
        return date_literal(value)
    return string_literal(str(value))


def _row(*values: Any) -> str:
    return "(" + ", ".join(_literal(v) for v in values) + ")"


def _changed(warehouse: Warehouse, sql: str) -> int:
    """Run a DELETE or UPDATE; the number of rows it changed (both engines answer it as a row)."""
    return int(warehouse.fetchall(sql)[0][0])


def _text_list(values: Iterable[str]) -> str:
    return ", ".join(string_literal(v) for v in values)


# -- current and published versions -----------------------------------------------------------


def current_versions(
    warehouse: Warehouse, table_name: str, dates: Sequence[date] | None = None
) -> dict[date, str]:
    """The version id published now for each given partition of a table (all when no dates)."""
    if dates is not None and not dates:
        return {}
    where = "" if dates is None else f" AND business_date IN ({date_list(dates)})"
    rows = warehouse.fetchall(
        f"SELECT business_date, version_id FROM {AUDIT_SCHEMA}.current_versions "
        f"WHERE table_name = {string_literal(table_name)}{where}"
    )
    return {row[0]: row[1] for row in rows}


def all_current_versions(warehouse: Warehouse) -> dict[tuple[str, date], str]:
    """(table, business date) -> the version published now, for every table."""
    rows = warehouse.fetchall(
        f"SELECT table_name, business_date, version_id FROM {AUDIT_SCHEMA}.current_versions"
    )
    return {(table, d): version for table, d, version in rows}


def latest_published_dates(warehouse: Warehouse) -> dict[str, date]:
    """Per table, its latest published business date."""
    rows = warehouse.fetchall(
        f"SELECT table_name, MAX(business_date) FROM {AUDIT_SCHEMA}.current_versions GROUP BY 1"
    )
    return {name: last for name, last in rows}


@dataclass(frozen=True)
class PublishedPartition:
    """A partition published now, with what its version was computed from."""

    table_name: str
    business_date: date
    version_id: str
    input_version: str
    code_version: str
    predecessor_version_id: str | None
    manifest_id: str | None


def published_partitions(
    warehouse: Warehouse, table_name: str | None = None, dates: Sequence[date] | None = None
) -> list[PublishedPartition]:
    """The current version of every published partition (of one table, of some dates)."""
    conditions = []
    if table_name is not None:
        conditions.append(f"c.table_name = {string_literal(table_name)}")
    if dates is not None:
        if not dates:
            return []
        conditions.append(f"c.business_date IN ({date_list(dates)})")
    where = f"WHERE {' AND '.join(conditions)} " if conditions else ""
    rows = warehouse.fetchall(
        "SELECT c.table_name, c.business_date, c.version_id, v.input_version, v.code_version, "
        "v.predecessor_version_id, v.manifest_id "
        f"FROM {AUDIT_SCHEMA}.current_versions AS c "
        f"JOIN {AUDIT_SCHEMA}.partition_versions AS v ON v.version_id = c.version_id "
        f"{where}ORDER BY 1, 2"
    )
    return [PublishedPartition(*row) for row in rows]


def record_versions(warehouse: Warehouse, versions: Sequence[PartitionVersion]) -> None:
    rows = ", ".join(_row(*(getattr(v, f) for f in _VERSION_FIELDS)) for v in versions)
    names = ", ".join(_VERSION_FIELDS)
    warehouse.execute(f"INSERT INTO {AUDIT_SCHEMA}.partition_versions ({names}) VALUES {rows}")


def get_versions(warehouse: Warehouse, version_ids: Sequence[str]) -> list[PartitionVersion]:
    if not version_ids:
        return []
    rows = warehouse.fetchall(
        f"SELECT {', '.join(_VERSION_FIELDS)} FROM {AUDIT_SCHEMA}.partition_versions "
        f"WHERE version_id IN ({_text_list(version_ids)})"
    )
    return [PartitionVersion(*row) for row in rows]


def lock_tables(
    warehouse: Warehouse, table_names: Iterable[str], holder: str, at: datetime
) -> None:
    """The first statement of every publish and rollback: take the tables' publish locks.

    An UPDATE of a table's lock row holds it until the transaction ends. Snowflake makes a
    second session wait for it; DuckDB refuses the second session (WriteConflict). Tables are
    locked in name order, so two sessions never wait on each other in a circle.
    """
    for name in sorted(set(table_names)):
        warehouse.execute(
            f"UPDATE {AUDIT_SCHEMA}.publish_locks SET holder = {string_literal(holder)}, "
            f"locked_at = {timestamp_literal(at)} WHERE table_name = {string_literal(name)}"
        )


def swap_current(
    warehouse: Warehouse,
    table_name: str,
    expected: Mapping[date, str | None],
    new: Mapping[date, str | None],
) -> None:
    """Compare and swap: point each partition at its new version (None: empty), provided each
    is still at the version expected (None: unpublished); raise CurrentVersionsMoved if not."""
    dates = sorted(new)
    held = [(d, expected.get(d)) for d in dates if expected.get(d) is not None]
    matched = 0
    if held:
        pairs = " OR ".join(
            f"(business_date = {date_literal(d)} AND version_id = {string_literal(v)})"
            for d, v in held
        )
        matched = _changed(
            warehouse,
            f"DELETE FROM {AUDIT_SCHEMA}.current_versions WHERE table_name = "
            f"{string_literal(table_name)} AND ({pairs})",
        )
    others = _changed(
        warehouse,
        f"DELETE FROM {AUDIT_SCHEMA}.current_versions WHERE table_name = "
        f"{string_literal(table_name)} AND business_date IN ({date_list(dates)})",
    )
    if matched != len(held) or others:
        raise ConcurrentPublish(
            f"{table_name}: the current versions of {dates[0]}..{dates[-1]} changed under this "
            "transaction; nothing was published"
        )
    rows = [_row(table_name, d, v) for d, v in new.items() if v is not None]
    if rows:
        warehouse.execute(f"INSERT INTO {AUDIT_SCHEMA}.current_versions VALUES {', '.join(rows)}")


def log_changes(
    warehouse: Warehouse,
    table_name: str,
    action: str,
    changes: Mapping[date, tuple[str | None, str | None]],
    run_id: str,
    at: datetime,
    note: str,
) -> None:
    """Append a publish or rollback to the publish log: per partition (new, previous) version."""
    rows = ", ".join(
        _row(table_name, d, action, new, old, run_id, at, note)
        for d, (new, old) in sorted(changes.items())
    )
    # A sequence, not MAX(seq) + 1: two sessions publishing at once get distinct numbers.
    seq = warehouse.next_value_sql(PUBLISH_LOG_SEQUENCE)
    warehouse.execute(
        f"INSERT INTO {AUDIT_SCHEMA}.publish_log (seq, {_LOG_COLUMNS}) "
        f"SELECT {seq}, {_LOG_COLUMNS} FROM (VALUES {rows}) AS logged ({_LOG_COLUMNS})"
    )


# -- what one backfill published --------------------------------------------------------------


@dataclass(frozen=True)
class ManifestVersion:
    """A version a backfill's runs published, in publish order (`seq`)."""

    table_name: str
    business_date: date
    version_id: str
    replaced_version_id: str | None
    row_count: int
    run_id: str
    seq: int


def manifest_versions(warehouse: Warehouse, manifest_id: str) -> list[ManifestVersion]:
    rows = warehouse.fetchall(
        "SELECT v.table_name, v.business_date, v.version_id, v.replaced_version_id, "
        "v.row_count, v.run_id, l.seq "
        f"FROM {AUDIT_SCHEMA}.partition_versions AS v "
        f"JOIN {AUDIT_SCHEMA}.publish_log AS l ON l.version_id = v.version_id "
        "AND l.action = 'publish' "
        f"WHERE v.manifest_id = {string_literal(manifest_id)} ORDER BY l.seq"
    )
    return [ManifestVersion(*row) for row in rows]


def row_counts(warehouse: Warehouse, version_ids: Iterable[str]) -> dict[str, int]:
    ids = sorted(set(version_ids))
    if not ids:
        return {}
    rows = warehouse.fetchall(
        f"SELECT version_id, row_count FROM {AUDIT_SCHEMA}.partition_versions "
        f"WHERE version_id IN ({_text_list(ids)})"
    )
    return {version: int(count) for version, count in rows}


def current_successors(
    warehouse: Warehouse,
    table_name: str,
    predecessor_ids: Iterable[str],
    outside: Sequence[date],
    manifest_id: str,
) -> list[date]:
    """Dates outside `outside` whose current version opened from one of `predecessor_ids`
    and that another manifest (or the daily lane) published."""
    rows = warehouse.fetchall(
        "SELECT c.business_date FROM "
        f"{AUDIT_SCHEMA}.current_versions AS c JOIN {AUDIT_SCHEMA}.partition_versions "
        "AS v ON v.version_id = c.version_id "
        f"WHERE c.table_name = {string_literal(table_name)} "
        f"AND v.predecessor_version_id IN ({_text_list(predecessor_ids)}) "
        f"AND c.business_date NOT IN ({date_list(outside)}) "
        f"AND v.manifest_id IS DISTINCT FROM {string_literal(manifest_id)}"
    )
    return [row[0] for row in rows]


# -- check results ----------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckRecord:
    """One audit's verdict on one partition in one run, as recorded."""

    table_name: str
    business_date: date
    run_id: str
    check_name: str
    passed: bool
    blocking: bool
    detail: str
    checked_at: datetime
    metadata: str


def record_checks(warehouse: Warehouse, records: Sequence[CheckRecord]) -> None:
    if records:
        rows = ", ".join(_row(*dataclasses.astuple(r)) for r in records)
        warehouse.execute(f"INSERT INTO {AUDIT_SCHEMA}.check_results VALUES {rows}")


def checks_of_runs(warehouse: Warehouse, run_ids: Iterable[str]) -> list[CheckRecord]:
    ids = sorted(set(run_ids))
    if not ids:
        return []
    names = ", ".join(f.name for f in dataclasses.fields(CheckRecord))
    rows = warehouse.fetchall(
        f"SELECT {names} FROM {AUDIT_SCHEMA}.check_results WHERE run_id IN ({_text_list(ids)})"
    )
    return [CheckRecord(*row) for row in rows]


def check_counts(warehouse: Warehouse, run_ids: Sequence[str] | None = None) -> tuple[int, int]:
    """(passed, failed) checks per partition, for the given runs (default: all runs)."""
    where = f"WHERE run_id IN ({_text_list(run_ids)})" if run_ids else ""
    passed, failed = warehouse.fetchall(
        "SELECT COALESCE(SUM(CASE WHEN passed THEN 1 ELSE 0 END), 0), "
        f"COALESCE(SUM(CASE WHEN passed THEN 0 ELSE 1 END), 0) FROM {AUDIT_SCHEMA}.check_results "
        f"{where}"
    )[0]
    return int(passed), int(failed)


# -- run steps --------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunStep:
    """How long one step of a run took, for how many partitions and rows."""

    run_id: str
    asset: str
    partitions: int
    raw_rows: int
    rows_written: int
    seconds: float
    run_started_at: datetime


def record_run_step(warehouse: Warehouse, step: RunStep) -> None:
    warehouse.execute(
        f"INSERT INTO {AUDIT_SCHEMA}.run_steps VALUES {_row(*dataclasses.astuple(step))}"
    )


def step_seconds(warehouse: Warehouse) -> float:
    """Seconds spent in every recorded step, all runs together."""
    return float(
        warehouse.fetchall(f"SELECT COALESCE(SUM(seconds), 0) FROM {AUDIT_SCHEMA}.run_steps")[0][0]
    )


def measured_rows_per_second(warehouse: Warehouse, recent_runs: int = 20) -> float | None:
    """Raw rows per second of wall time over the most recent runs that read raw rows."""
    rows, seconds = warehouse.fetchall(
        f"SELECT SUM(raw_rows), SUM(seconds) FROM {AUDIT_SCHEMA}.run_steps WHERE run_id IN ("
        f"SELECT run_id FROM {AUDIT_SCHEMA}.run_steps GROUP BY run_id HAVING SUM(raw_rows) > 0 "
        f"ORDER BY MAX(run_started_at) DESC LIMIT {int(recent_runs)})"
    )[0]
    if not rows or not seconds:
        return None
    return float(rows) / float(seconds)
