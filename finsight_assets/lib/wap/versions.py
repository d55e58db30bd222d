"""Partition versions: which are published now, their records, and the statements a publish or
rollback runs on them inside its transaction (lock, compare-and-swap, log)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from finsight_assets.lib.engines.warehouse import Warehouse, bind, bound, bound_rows
from finsight_assets.lib.wap.audit_tables import (
    CURRENT_VERSIONS,
    PARTITION_VERSIONS,
    PUBLISH_LOCKS,
    PUBLISH_LOG,
    PUBLISH_LOG_SEQUENCE,
    insert_records,
)
from finsight_assets.lib.wap.model import ConcurrentPublish, CurrentVersion, PartitionVersion

_VERSION_FIELDS = PARTITION_VERSIONS.column_names
# A backfill's rollback runs as this prefix and the manifest id (what retention looks for).
BACKFILL_ROLLBACK_RUN = "rollback-"
# The publish log's columns but its sequence number, which the warehouse gives.
_LOG_COLUMNS = ", ".join(c for c in PUBLISH_LOG.column_names if c != "seq")


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
        f"SELECT business_date, version_id FROM {CURRENT_VERSIONS.name} "
        f"WHERE table_name = ?{where}",
        params,
    )
    return {row[0]: row[1] for row in rows}


def all_current_versions(warehouse: Warehouse) -> dict[tuple[str, date], str]:
    """(table, business date) -> the version published now, for every table."""
    rows = warehouse.fetchall(
        f"SELECT table_name, business_date, version_id FROM {CURRENT_VERSIONS.name}"
    )
    return {(table, d): version for table, d, version in rows}


def latest_published_dates(warehouse: Warehouse) -> dict[str, date]:
    """Per table, its latest published business date."""
    rows = warehouse.fetchall(
        f"SELECT table_name, MAX(business_date) FROM {CURRENT_VERSIONS.name} GROUP BY 1"
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
        f"FROM {CURRENT_VERSIONS.name} AS c "
        f"JOIN {PARTITION_VERSIONS.name} AS v ON v.version_id = c.version_id "
        f"{where}ORDER BY 1, 2",
        params,
    )
    return [PublishedPartition(*row) for row in rows]


def record_versions(warehouse: Warehouse, versions: Sequence[PartitionVersion]) -> None:
    insert_records(warehouse, PARTITION_VERSIONS, versions)


def get_versions(warehouse: Warehouse, version_ids: Sequence[str]) -> list[PartitionVersion]:
    if not version_ids:
        return []
    listed, params = bound(list(version_ids))
    rows = warehouse.fetchall(
        f"SELECT {', '.join(_VERSION_FIELDS)} FROM {PARTITION_VERSIONS.name} "
        f"WHERE version_id IN ({listed})",
        params,
    )
    return [PartitionVersion(**dict(zip(_VERSION_FIELDS, row, strict=True))) for row in rows]


def row_counts(warehouse: Warehouse, version_ids: Iterable[str]) -> dict[str, int]:
    ids = sorted(set(version_ids))
    if not ids:
        return {}
    listed, params = bound(ids)
    rows = warehouse.fetchall(
        f"SELECT version_id, row_count FROM {PARTITION_VERSIONS.name} "
        f"WHERE version_id IN ({listed})",
        params,
    )
    return {version: int(count) for version, count in rows}


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
            f"UPDATE {PUBLISH_LOCKS.name} SET holder = ?, locked_at = {moment} "
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
        matched = warehouse.count_changed(
            f"DELETE FROM {CURRENT_VERSIONS.name} WHERE table_name = ? AND ({' OR '.join(pairs)})",
            params,
        )
    listed, listed_params = bound(dates)
    others = warehouse.count_changed(
        f"DELETE FROM {CURRENT_VERSIONS.name} WHERE table_name = ? AND business_date IN ({listed})",
        [table_name, *listed_params],
    )
    if matched != len(held) or others:
        raise ConcurrentPublish(
            f"{table_name}: the current versions of {dates[0]}..{dates[-1]} changed under this "
            "transaction; nothing was published"
        )
    insert_records(
        warehouse,
        CURRENT_VERSIONS,
        (CurrentVersion(table_name, d, v) for d, v in new.items() if v is not None),
    )


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
        f"INSERT INTO {PUBLISH_LOG.name} (seq, {_LOG_COLUMNS}) "
        f"SELECT {seq}, {_LOG_COLUMNS} FROM (VALUES {rows}) AS logged ({_LOG_COLUMNS})",
        params,
    )
