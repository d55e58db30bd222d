"""The audit schema: the protocol's own tables, and every query on them.

partition_versions  one row per published version of a table partition (immutable);
current_versions    which version of each partition readers see now;
publish_log         every publish and rollback, in order (a sequence numbers them);
check_results       every audit's verdict per partition and run;
held_versions       candidate versions held for approval (what each was computed from, what
                    it would replace), until published or discarded;
run_steps           how long each step took for how many rows (what estimates come from);
backfill_*          the operations store's manifests, approvals and events (its queries are in
                    `backfills/store.py`).

Every table is created here, on every read-write connection, so a read-only one (a sensor's)
finds them all.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from finsight_assets.lib.engines.warehouse import Warehouse, bind, bound, bound_rows
from finsight_assets.lib.wap.model import ConcurrentPublish, PartitionVersion

AUDIT_SCHEMA = "audit"
PUBLISH_LOG_SEQUENCE = f"{AUDIT_SCHEMA}.publish_log_seq"
MANIFESTS = f"{AUDIT_SCHEMA}.backfill_manifests"
APPROVALS = f"{AUDIT_SCHEMA}.backfill_approvals"
EVENTS = f"{AUDIT_SCHEMA}.backfill_events"
EVENT_SEQUENCE = f"{AUDIT_SCHEMA}.backfill_events_seq"
_VERSION_FIELDS = tuple(f.name for f in dataclasses.fields(PartitionVersion))
HELD_VERSIONS = f"{AUDIT_SCHEMA}.held_versions"
# Replaced versions whose history rows were pruned (`retention.py`); their records stay.
PRUNED_VERSIONS = f"{AUDIT_SCHEMA}.pruned_versions"
# A held version: a partition version, the publish unit it belongs to (the tables one step
# publishes together), and the source partitions it was computed from.
_HELD_FIELDS = (*_VERSION_FIELDS, "unit", "sources")
# The publish-log note of a publish that no Dagster step reported (a held publish on approval).
HELD_PUBLISH_NOTE = "held version published on approval"
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
        f"CREATE TABLE IF NOT EXISTS {PRUNED_VERSIONS} ("
        "version_id VARCHAR, table_name VARCHAR, pruned_at TIMESTAMP WITH TIME ZONE)"
    )
    warehouse.execute(
        f"CREATE TABLE IF NOT EXISTS {HELD_VERSIONS} ("
        "version_id VARCHAR, table_name VARCHAR, business_date DATE, run_id VARCHAR, "
        "code_version VARCHAR, input_version VARCHAR, mode VARCHAR, row_count BIGINT, "
        "checksum VARCHAR, published_at TIMESTAMP WITH TIME ZONE, replaced_version_id VARCHAR, "
        "predecessor_version_id VARCHAR, manifest_id VARCHAR, unit VARCHAR, sources VARCHAR)"
    )
    warehouse.execute(
        f"CREATE TABLE IF NOT EXISTS {AUDIT_SCHEMA}.publish_locks ("
        "table_name VARCHAR, holder VARCHAR, locked_at TIMESTAMP WITH TIME ZONE)"
    )
    for name in lock_names:
        warehouse.execute(
            f"INSERT INTO {AUDIT_SCHEMA}.publish_locks (table_name) SELECT ? "
            f"WHERE NOT EXISTS (SELECT 1 FROM {AUDIT_SCHEMA}.publish_locks WHERE table_name = ?)",
            [name, name],
        )
    warehouse.execute(
        f"CREATE TABLE IF NOT EXISTS {AUDIT_SCHEMA}.run_steps ("
        "run_id VARCHAR, asset VARCHAR, partitions BIGINT, raw_rows BIGINT, rows_written BIGINT, "
        "seconds DOUBLE, run_started_at TIMESTAMP WITH TIME ZONE)"
    )
    _create_operations_store(warehouse)


def _create_operations_store(warehouse: Warehouse) -> None:
    warehouse.execute(
        f"CREATE TABLE IF NOT EXISTS {MANIFESTS} (manifest_id VARCHAR, digest VARCHAR, "
        "body VARCHAR, written_at TIMESTAMP WITH TIME ZONE)"
    )
    warehouse.execute(
        f"CREATE TABLE IF NOT EXISTS {APPROVALS} (manifest_id VARCHAR, digest VARCHAR, "
        "approver VARCHAR, approver_key VARCHAR, approved_at TIMESTAMP WITH TIME ZONE)"
    )
    warehouse.execute(f"CREATE SEQUENCE IF NOT EXISTS {EVENT_SEQUENCE}")
    warehouse.execute(
        f"CREATE TABLE IF NOT EXISTS {EVENTS} (seq BIGINT, manifest_id VARCHAR, event VARCHAR, "
        "recorded_at TIMESTAMP WITH TIME ZONE, fields VARCHAR)"
    )


def _changed(warehouse: Warehouse, sql: str, params: Sequence[Any]) -> int:
    """Run a DELETE or UPDATE; the number of rows it changed (both engines answer it as a row)."""
    return int(warehouse.fetchall(sql, params)[0][0])


# -- current and published versions -----------------------------------------------------------


def current_versions(
    warehouse: Warehouse, table_name: str, dates: Sequence[date] | None = None
) -> dict[date, str]:
    """The version id published now for each given partition of a table (all when no dates)."""
    if dates is not None and not dates:
        return {}
    where, params = "", [table_name]
    if dates is not None:
        listed, more = bound(sorted(dates))
        where, params = f" AND business_date IN ({listed})", [*params, *more]
    rows = warehouse.fetchall(
        f"SELECT business_date, version_id FROM {AUDIT_SCHEMA}.current_versions "
        f"WHERE table_name = ?{where}",
        params,
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
    conditions: list[str] = []
    params: list[Any] = []
    if table_name is not None:
        conditions.append("c.table_name = ?")
        params.append(table_name)
    if dates is not None:
        if not dates:
            return []
        listed, more = bound(sorted(dates))
        conditions.append(f"c.business_date IN ({listed})")
        params.extend(more)
    where = f"WHERE {' AND '.join(conditions)} " if conditions else ""
    rows = warehouse.fetchall(
        "SELECT c.table_name, c.business_date, c.version_id, v.input_version, v.code_version, "
        "v.predecessor_version_id, v.manifest_id "
        f"FROM {AUDIT_SCHEMA}.current_versions AS c "
        f"JOIN {AUDIT_SCHEMA}.partition_versions AS v ON v.version_id = c.version_id "
        f"{where}ORDER BY 1, 2",
        params,
    )
    return [PublishedPartition(*row) for row in rows]


def record_versions(warehouse: Warehouse, versions: Sequence[PartitionVersion]) -> None:
    rows, params = bound_rows([getattr(v, f) for f in _VERSION_FIELDS] for v in versions)
    names = ", ".join(_VERSION_FIELDS)
    warehouse.execute(
        f"INSERT INTO {AUDIT_SCHEMA}.partition_versions ({names}) VALUES {rows}", params
    )


def get_versions(warehouse: Warehouse, version_ids: Sequence[str]) -> list[PartitionVersion]:
    if not version_ids:
        return []
    listed, params = bound(list(version_ids))
    rows = warehouse.fetchall(
        f"SELECT {', '.join(_VERSION_FIELDS)} FROM {AUDIT_SCHEMA}.partition_versions "
        f"WHERE version_id IN ({listed})",
        params,
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
    moment, moment_params = bind(at)
    for name in sorted(set(table_names)):
        warehouse.execute(
            f"UPDATE {AUDIT_SCHEMA}.publish_locks SET holder = ?, locked_at = {moment} "
            "WHERE table_name = ?",
            [holder, *moment_params, name],
        )


def swap_current(
    warehouse: Warehouse,
    table_name: str,
    expected: Mapping[date, str | None],
    new: Mapping[date, str | None],
) -> None:
    """Compare and swap: point each partition at its new version (None: empty), provided each
    is still at the version expected (None: unpublished); raise ConcurrentPublish if not."""
    dates = sorted(new)
    held = [(d, expected.get(d)) for d in dates if expected.get(d) is not None]
    matched = 0
    if held:
        pairs, params = [], [table_name]
        for d, version in held:
            day, day_params = bind(d)
            pairs.append(f"(business_date = {day} AND version_id = ?)")
            params.extend([*day_params, version])
        matched = _changed(
            warehouse,
            f"DELETE FROM {AUDIT_SCHEMA}.current_versions WHERE table_name = ? "
            f"AND ({' OR '.join(pairs)})",
            params,
        )
    listed, listed_params = bound(dates)
    others = _changed(
        warehouse,
        f"DELETE FROM {AUDIT_SCHEMA}.current_versions WHERE table_name = ? "
        f"AND business_date IN ({listed})",
        [table_name, *listed_params],
    )
    if matched != len(held) or others:
        raise ConcurrentPublish(
            f"{table_name}: the current versions of {dates[0]}..{dates[-1]} changed under this "
            "transaction; nothing was published"
        )
    current = [(table_name, d, v) for d, v in new.items() if v is not None]
    if current:
        rows, params = bound_rows(current)
        warehouse.execute(f"INSERT INTO {AUDIT_SCHEMA}.current_versions VALUES {rows}", params)


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
    rows, params = bound_rows(
        (table_name, d, action, new, old, run_id, at, note)
        for d, (new, old) in sorted(changes.items())
    )
    # A sequence, not MAX(seq) + 1: two sessions publishing at once get distinct numbers.
    seq = warehouse.next_value_sql(PUBLISH_LOG_SEQUENCE)
    warehouse.execute(
        f"INSERT INTO {AUDIT_SCHEMA}.publish_log (seq, {_LOG_COLUMNS}) "
        f"SELECT {seq}, {_LOG_COLUMNS} FROM (VALUES {rows}) AS logged ({_LOG_COLUMNS})",
        params,
    )


# -- held versions ----------------------------------------------------------------------------


@dataclass(frozen=True)
class HeldVersion:
    """A candidate version held for approval: `version.replaced_version_id` is the version it
    was computed against (it publishes only over that one), `version.published_at` when it
    was held; `sources` maps each source table to the version of the same day it was read."""

    version: PartitionVersion
    unit: str
    sources: Mapping[str, str]


def record_held(warehouse: Warehouse, held: Sequence[HeldVersion]) -> None:
    rows, params = bound_rows(
        [
            *(getattr(h.version, f) for f in _VERSION_FIELDS),
            h.unit,
            json.dumps(dict(h.sources), sort_keys=True),
        ]
        for h in held
    )
    warehouse.execute(
        f"INSERT INTO {HELD_VERSIONS} ({', '.join(_HELD_FIELDS)}) VALUES {rows}", params
    )


def held_versions(
    warehouse: Warehouse, manifest_id: str, table_name: str | None = None
) -> list[HeldVersion]:
    """The versions a manifest holds (of one table), by table and date."""
    where, params = "manifest_id = ?", [manifest_id]
    if table_name is not None:
        where, params = f"{where} AND table_name = ?", [*params, table_name]
    rows = warehouse.fetchall(
        f"SELECT {', '.join(_HELD_FIELDS)} FROM {HELD_VERSIONS} WHERE {where} "
        "ORDER BY table_name, business_date",
        params,
    )
    n = len(_VERSION_FIELDS)
    return [HeldVersion(PartitionVersion(*row[:n]), row[n], json.loads(row[n + 1])) for row in rows]


def forget_held(warehouse: Warehouse, version_ids: Sequence[str]) -> None:
    if version_ids:
        listed, params = bound(sorted(version_ids))
        warehouse.execute(f"DELETE FROM {HELD_VERSIONS} WHERE version_id IN ({listed})", params)


def held_overlay(
    table_name: str, held_table: str, columns: Sequence[str], manifest_id: str
) -> tuple[str, list[Any]]:
    """A SELECT of the table as the manifest's held versions would leave it: the held rows
    where it holds a partition, the published rows elsewhere."""
    names = ", ".join(columns)
    held = f"SELECT {{column}} FROM {HELD_VERSIONS} WHERE table_name = ? AND manifest_id = ?"
    sql = (
        f"SELECT {names} FROM {table_name} WHERE business_date NOT IN "
        f"({held.format(column='business_date')}) "
        f"UNION ALL SELECT {names} FROM {held_table} WHERE _version_id IN "
        f"({held.format(column='version_id')})"
    )
    return sql, [table_name, manifest_id, table_name, manifest_id]


@dataclass(frozen=True)
class UnreportedChange:
    """A change of published rows that no Dagster step reported: a held version published on
    approval, or a rollback. `seq` orders the publish log; `run_id` computed the version."""

    seq: int
    table_name: str
    business_date: date
    action: str
    version_id: str
    row_count: int
    run_id: str


def unreported_changes(
    warehouse: Warehouse, after_seq: int, limit: int = 500
) -> tuple[list[UnreportedChange], int]:
    """The held publishes and rollbacks logged after `after_seq` whose version is still the
    current one (a later publish reported itself), and the last sequence number looked at."""
    rows = warehouse.fetchall(
        "SELECT l.seq, l.table_name, l.business_date, l.action, l.version_id, v.row_count, "
        "v.run_id, c.version_id "
        f"FROM {AUDIT_SCHEMA}.publish_log AS l "
        f"LEFT JOIN {AUDIT_SCHEMA}.partition_versions AS v ON v.version_id = l.version_id "
        f"LEFT JOIN {AUDIT_SCHEMA}.current_versions AS c "
        "ON c.table_name = l.table_name AND c.business_date = l.business_date "
        "WHERE l.seq > ? AND (l.action = 'rollback' OR l.note = ?) ORDER BY l.seq "
        f"LIMIT {int(limit)}",
        [after_seq, HELD_PUBLISH_NOTE],
    )
    last = max((int(row[0]) for row in rows), default=after_seq)
    changes = [
        UnreportedChange(int(seq), table, d, action, version, int(count), run_id)
        for seq, table, d, action, version, count, run_id, current in rows
        if version is not None and version == current
    ]
    return changes, last


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
        "WHERE v.manifest_id = ? ORDER BY l.seq",
        [manifest_id],
    )
    return [ManifestVersion(*row) for row in rows]


def row_counts(warehouse: Warehouse, version_ids: Iterable[str]) -> dict[str, int]:
    ids = sorted(set(version_ids))
    if not ids:
        return {}
    listed, params = bound(ids)
    rows = warehouse.fetchall(
        f"SELECT version_id, row_count FROM {AUDIT_SCHEMA}.partition_versions "
        f"WHERE version_id IN ({listed})",
        params,
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
    ids, id_params = bound(sorted(set(predecessor_ids)))
    dates, date_params = bound(sorted(outside))
    rows = warehouse.fetchall(
        "SELECT c.business_date FROM "
        f"{AUDIT_SCHEMA}.current_versions AS c JOIN {AUDIT_SCHEMA}.partition_versions "
        "AS v ON v.version_id = c.version_id "
        f"WHERE c.table_name = ? AND v.predecessor_version_id IN ({ids}) "
        f"AND c.business_date NOT IN ({dates}) AND v.manifest_id IS DISTINCT FROM ?",
        [table_name, *id_params, *date_params, manifest_id],
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
        rows, params = bound_rows(dataclasses.astuple(r) for r in records)
        warehouse.execute(f"INSERT INTO {AUDIT_SCHEMA}.check_results VALUES {rows}", params)


def checks_of_runs(warehouse: Warehouse, run_ids: Iterable[str]) -> list[CheckRecord]:
    ids = sorted(set(run_ids))
    if not ids:
        return []
    names = ", ".join(f.name for f in dataclasses.fields(CheckRecord))
    listed, params = bound(ids)
    rows = warehouse.fetchall(
        f"SELECT {names} FROM {AUDIT_SCHEMA}.check_results WHERE run_id IN ({listed})", params
    )
    return [CheckRecord(*row) for row in rows]


def check_counts(warehouse: Warehouse, run_ids: Sequence[str] | None = None) -> tuple[int, int]:
    """(passed, failed) checks per partition, for the given runs (default: all runs)."""
    where, params = "", []
    if run_ids:
        listed, params = bound(list(run_ids))
        where = f"WHERE run_id IN ({listed})"
    passed, failed = warehouse.fetchall(
        "SELECT COALESCE(SUM(CASE WHEN passed THEN 1 ELSE 0 END), 0), "
        f"COALESCE(SUM(CASE WHEN passed THEN 0 ELSE 1 END), 0) FROM {AUDIT_SCHEMA}.check_results "
        f"{where}",
        params,
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
    rows, params = bound_rows([dataclasses.astuple(step)])
    warehouse.execute(f"INSERT INTO {AUDIT_SCHEMA}.run_steps VALUES {rows}", params)


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


def unneeded_replaced_versions(
    warehouse: Warehouse, replaced_before: datetime
) -> list[tuple[str, date, str, datetime]]:
    """(table, date, version id, when replaced) of each version replaced before
    `replaced_before` that is not current, not pruned yet, was not replaced by a current
    version, and was not replaced by a version of a backfill that still has a current version
    (`retention.py`)."""
    cutoff, params = bind(replaced_before)
    versions = f"{AUDIT_SCHEMA}.partition_versions"
    current = f"{AUDIT_SCHEMA}.current_versions"
    rows = warehouse.fetchall(
        "SELECT old.table_name, old.business_date, old.version_id, MIN(new.published_at) "
        f"FROM {versions} AS new JOIN {versions} AS old "
        "ON old.version_id = new.replaced_version_id "
        f"WHERE old.version_id NOT IN (SELECT version_id FROM {current}) "
        f"AND old.version_id NOT IN (SELECT version_id FROM {PRUNED_VERSIONS}) "
        "AND old.version_id NOT IN ("
        f"SELECT v.replaced_version_id FROM {versions} AS v "
        f"JOIN {current} AS c ON c.version_id = v.version_id "
        "WHERE v.replaced_version_id IS NOT NULL) "
        "AND old.version_id NOT IN ("
        f"SELECT v.replaced_version_id FROM {versions} AS v "
        "WHERE v.replaced_version_id IS NOT NULL AND v.manifest_id IN ("
        f"SELECT m.manifest_id FROM {versions} AS m "
        f"JOIN {current} AS c ON c.version_id = m.version_id WHERE m.manifest_id IS NOT NULL)) "
        "GROUP BY old.table_name, old.business_date, old.version_id "
        f"HAVING MIN(new.published_at) < {cutoff} "
        "ORDER BY old.table_name, old.business_date, old.version_id",
        params,
    )
    return [(t, d, v, at) for t, d, v, at in rows]


def record_pruned(warehouse: Warehouse, pruned: Sequence[tuple[str, str]], at: datetime) -> None:
    """Record (version id, table) pairs whose history rows were deleted at `at`."""
    if pruned:
        values, params = bound_rows([(v, t, at) for v, t in pruned])
        warehouse.execute(f"INSERT INTO {PRUNED_VERSIONS} VALUES {values}", params)
