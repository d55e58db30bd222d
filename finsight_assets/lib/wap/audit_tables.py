"""The audit schema's tables, declared by the records they store (`model.py`): their DDL and
their inserts are generated from those dataclasses' fields, every insert naming its columns.

partition_versions  one row per published version of a table partition (immutable);
current_versions    which version of each partition readers see now;
publish_log         every publish and rollback, in order (a sequence numbers them);
check_results       every audit's verdict per partition and run;
pruned_versions     replaced versions whose history rows were pruned (`retention.py`);
held_versions       candidate versions held for approval (what each was computed from, what
                    it would replace), until published or discarded (`held_versions.py`);
publish_locks       one row per published table, updated first by every publish and rollback;
run_steps           how long each step took for how many rows (what estimates come from).

The operations store's tables are declared by the store (`backfills/store.py`). Every table is
created by the first read-write connection to a warehouse not at this release's layout
(`layout.ensure_schema`), so a read-only one (a sensor's) finds them all.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from finsight_assets.lib.engines.warehouse import Warehouse, bound_rows
from finsight_assets.lib.wap.model import (
    CheckRecord,
    CurrentVersion,
    PartitionVersion,
    PrunedVersion,
    PublishLock,
    PublishLogEntry,
    RunStep,
)

AUDIT_SCHEMA = "audit"
PUBLISH_LOG_SEQUENCE = f"{AUDIT_SCHEMA}.publish_log_seq"
# The publish-log note of a publish that no Dagster step reported (a held publish on approval).
HELD_PUBLISH_NOTE = "held version published on approval"

_SQL_TYPES: dict[Any, str] = {
    str: "VARCHAR",
    int: "BIGINT",
    float: "DOUBLE",
    bool: "BOOLEAN",
    date: "DATE",
    datetime: "TIMESTAMP WITH TIME ZONE",
}


def columns_of(record: type) -> tuple[tuple[str, str], ...]:
    """A record dataclass's fields as (column, SQL type), in field order (None allowed)."""
    hints = typing.get_type_hints(record)
    columns = []
    for field in dataclasses.fields(record):
        hint = hints[field.name]
        if isinstance(hint, types.UnionType):
            hint = next(arg for arg in typing.get_args(hint) if arg is not type(None))
        columns.append((field.name, _SQL_TYPES[hint]))
    return tuple(columns)


@dataclass(frozen=True)
class AuditTable:
    """A table of the audit schema and its columns (name, SQL type)."""

    name: str
    columns: tuple[tuple[str, str], ...]

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.columns)

    def ddl(self) -> str:
        listed = ", ".join(f"{name} {sql_type}" for name, sql_type in self.columns)
        return f"CREATE TABLE IF NOT EXISTS {self.name} ({listed})"


def _table(name: str, record: type, *more: tuple[str, str]) -> AuditTable:
    return AuditTable(f"{AUDIT_SCHEMA}.{name}", (*columns_of(record), *more))


PARTITION_VERSIONS = _table("partition_versions", PartitionVersion)
CURRENT_VERSIONS = _table("current_versions", CurrentVersion)
PUBLISH_LOG = _table("publish_log", PublishLogEntry)
CHECK_RESULTS = _table("check_results", CheckRecord)
PRUNED_VERSIONS = _table("pruned_versions", PrunedVersion)
# A held version: a partition version, the publish unit it belongs to (the tables one step
# publishes together), and the source partitions it was computed from (JSON).
HELD_VERSIONS = _table(
    "held_versions", PartitionVersion, ("unit", "VARCHAR"), ("sources", "VARCHAR")
)
PUBLISH_LOCKS = _table("publish_locks", PublishLock)
RUN_STEPS = _table("run_steps", RunStep)


def insert(warehouse: Warehouse, table: AuditTable, rows: Iterable[Sequence[Any]]) -> None:
    """Insert rows of values in the order of the table's columns, naming the columns; no rows,
    no statement."""
    values, params = bound_rows(rows)
    if values:
        names = ", ".join(table.column_names)
        warehouse.execute(f"INSERT INTO {table.name} ({names}) VALUES {values}", params)


def insert_records(warehouse: Warehouse, table: AuditTable, records: Iterable[Any]) -> None:
    """Insert record dataclasses (all of the table's columns) by column name."""
    insert(warehouse, table, ([getattr(r, name) for name in table.column_names] for r in records))


def create(warehouse: Warehouse, lock_names: Sequence[str]) -> None:
    """Create the audit schema's tables and sequence if missing, with a publish lock row for
    each of `lock_names` (the published tables)."""
    warehouse.execute(f"CREATE SCHEMA IF NOT EXISTS {AUDIT_SCHEMA}")
    warehouse.execute(PARTITION_VERSIONS.ddl())
    warehouse.execute(CURRENT_VERSIONS.ddl())
    warehouse.execute(f"CREATE SEQUENCE IF NOT EXISTS {PUBLISH_LOG_SEQUENCE}")
    for table in (PUBLISH_LOG, CHECK_RESULTS, PRUNED_VERSIONS, HELD_VERSIONS, PUBLISH_LOCKS):
        warehouse.execute(table.ddl())
    for name in lock_names:
        warehouse.execute(
            f"INSERT INTO {PUBLISH_LOCKS.name} (table_name) SELECT ? "
            f"WHERE NOT EXISTS (SELECT 1 FROM {PUBLISH_LOCKS.name} WHERE table_name = ?)",
            [name, name],
        )
    warehouse.execute(RUN_STEPS.ddl())
