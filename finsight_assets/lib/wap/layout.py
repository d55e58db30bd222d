"""Where the protocol keeps things in the warehouse: one versions table per declared table (every
version's rows, written once: current, replaced ones kept for rollback, held candidates awaiting
approval; each row with its row hash), the declared tables as views of their current versions,
staging (candidates no reader looks at) and the audit schema."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Sequence
from typing import Any

from finsight_assets.lib.backfills import store
from finsight_assets.lib.contract.tables import LINEAGE_COLUMN_NAMES, LINEAGE_COLUMNS, TableSpec
from finsight_assets.lib.engines.owners import owner_alive, owner_tag
from finsight_assets.lib.engines.warehouse import Warehouse, string_literal
from finsight_assets.lib.tables.registry import TABLES
from finsight_assets.lib.wap import audit_tables
from finsight_assets.lib.wap.audit_tables import CURRENT_VERSIONS
from finsight_assets.lib.wap.layout_migration import add_row_hashes, migrate_twins
from finsight_assets.lib.wap.profile import ROW_HASH

STAGING_SCHEMA = "staging"
VERSIONS_SCHEMA = "versions"


def versions_table(table: TableSpec) -> str:
    """The physical table of every version's rows of `table` (business and lineage columns)."""
    return f"{VERSIONS_SCHEMA}.{table.schema}__{table.name}"


def versions_ddl(table: TableSpec, row_hash_type: str) -> str:
    """The versions table: business and lineage columns, and each row's hash (`ROW_HASH`)."""
    columns = ", ".join(
        f"{column.name} {column.sql_type}" for column in table.columns + LINEAGE_COLUMNS
    )
    hashed = f"{ROW_HASH} {row_hash_type}"
    return f"CREATE TABLE IF NOT EXISTS {versions_table(table)} ({columns}, {hashed})"


def current_rows_sql(table: TableSpec) -> str:
    """A SELECT of `table`'s current rows with their stored row hash (which the view hides)."""
    columns = ", ".join(f"v.{name}" for name in (*table.business_columns, ROW_HASH))
    return (
        f"SELECT {columns} FROM {versions_table(table)} AS v JOIN {CURRENT_VERSIONS.name} AS c "
        f"ON c.table_name = {string_literal(table.qualified_name)} "
        "AND c.business_date = v.business_date AND c.version_id = v._version_id"
    )


def current_view_ddl(table: TableSpec) -> str:
    """`table` as readers see it: the rows of each partition's current version (a partition
    swaps in one compare-and-swap of its pointer, so a reader sees old or new, never a mix)."""
    columns = ", ".join(f"v.{name}" for name in table.business_columns + LINEAGE_COLUMN_NAMES)
    return (
        f"CREATE VIEW IF NOT EXISTS {table.qualified_name} AS SELECT {columns} "
        f"FROM {versions_table(table)} AS v JOIN {CURRENT_VERSIONS.name} AS c "
        f"ON c.table_name = {string_literal(table.qualified_name)} "
        "AND c.business_date = v.business_date AND c.version_id = v._version_id"
    )


def staging_table(warehouse: Warehouse, name: str, run_id: str) -> str:
    """A run's own staging table in the warehouse's staging schema: `name`, the run id's first
    alphanumerics and the owning process (`owners.py`)."""
    suffix = "".join(ch for ch in run_id if ch.isalnum())[:12] or "adhoc"
    return f"{warehouse.staging_schema}.{name}__{suffix}_{owner_tag()}"


def sweep_orphaned_staging(warehouse: Warehouse) -> list[str]:
    """Drop the staging tables in the file whose owning process is gone (killed mid-run);
    returns them. Only where every session runs on this machine (the DuckDB flavour calls it:
    its staging tables are now the connection's own temporary ones, but a warehouse staged in
    by an older release may hold some)."""
    names = [
        name
        for (name,) in warehouse.fetchall(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = ?",
            [STAGING_SCHEMA],
        )
    ]
    orphaned = [n for n in names if not owner_alive(n.rsplit("_", 1)[-1])]
    for name in orphaned:
        warehouse.execute(f"DROP TABLE IF EXISTS {STAGING_SCHEMA}.{name}")
    return orphaned


# The layout the warehouse was last brought to by `ensure_schema`: its fingerprint (one row).
SCHEMA_LAYOUT = f"{audit_tables.AUDIT_SCHEMA}.schema_layout"
# What brings a warehouse of an earlier layout to this one (each a no-op on this layout).
MIGRATIONS = (add_row_hashes, migrate_twins)


def ensure_schema(warehouse: Warehouse) -> None:
    """Bring the warehouse to this release's layout: the silver, gold, staging, versions and
    audit schemas, the versions tables, the declared tables' views and the audit tables (the
    operations store's among them) created if missing, an earlier layout migrated.

    Skipped when the warehouse records this layout's fingerprint (`SCHEMA_LAYOUT`): then a
    connection opens with three statements that write nothing, where the whole run is some
    forty, a few of them writes (each a commit, and on DuckDB a checkpoint when it closes)."""
    layout = _fingerprint(warehouse.row_hash_type)
    warehouse.execute(f"CREATE SCHEMA IF NOT EXISTS {audit_tables.AUDIT_SCHEMA}")
    warehouse.execute(f"CREATE TABLE IF NOT EXISTS {SCHEMA_LAYOUT} (fingerprint VARCHAR)")
    if warehouse.fetchall(f"SELECT fingerprint FROM {SCHEMA_LAYOUT}") == [(layout,)]:
        return
    _create_tables(warehouse, warehouse.row_hash_type)
    versions_of = {t.qualified_name: versions_table(t) for t in TABLES}
    for migrate in MIGRATIONS:
        migrate(warehouse, TABLES, versions_of)
    _create_views(warehouse)
    with warehouse.transaction():
        warehouse.execute(f"DELETE FROM {SCHEMA_LAYOUT}")
        warehouse.execute(f"INSERT INTO {SCHEMA_LAYOUT} (fingerprint) VALUES (?)", [layout])


def _create_tables(warehouse: Warehouse, row_hash_type: str) -> None:
    for schema in ("silver", "gold", STAGING_SCHEMA, VERSIONS_SCHEMA):
        warehouse.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    audit_tables.create(warehouse, [table.qualified_name for table in TABLES])
    store.create_tables(warehouse)
    for table in TABLES:
        warehouse.execute(versions_ddl(table, row_hash_type))


def _create_views(warehouse: Warehouse) -> None:
    # After the migrations: an old layout's published table gives its name to the view.
    for table in TABLES:
        warehouse.execute(current_view_ddl(table))


class _Statements:
    """Takes the statements the layout's creates give a warehouse, to fingerprint them."""

    def __init__(self) -> None:
        self.given: list[str] = []

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self.given.append(f"{sql} {list(params)!r}")


@functools.cache
def _fingerprint(row_hash_type: str) -> str:
    """The digest of this layout's statements (for a warehouse storing row hashes as
    `row_hash_type`) and of the migrations' names: any change to either is a new layout."""
    statements = _Statements()
    _create_tables(statements, row_hash_type)  # type: ignore[arg-type]
    _create_views(statements)  # type: ignore[arg-type]
    text = "\n".join([*statements.given, *(m.__name__ for m in MIGRATIONS)])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]
