"""Where the protocol keeps things in the warehouse: the published tables, their history twins
(replaced versions, for rollback), their held twins (audited candidates awaiting approval),
staging (candidates no reader looks at) and the audit schema."""

from __future__ import annotations

from finsight_assets.lib.backfills import store
from finsight_assets.lib.contract.tables import LINEAGE_COLUMNS, TableSpec
from finsight_assets.lib.engines.owners import owner_alive, owner_tag
from finsight_assets.lib.engines.warehouse import Warehouse
from finsight_assets.lib.tables.registry import TABLES
from finsight_assets.lib.wap import audit_tables

STAGING_SCHEMA = "staging"
HISTORY_SCHEMA = "history"
HELD_SCHEMA = "held"


def table_ddl(table: TableSpec, qualified_name: str | None = None) -> str:
    columns = ", ".join(
        f"{column.name} {column.sql_type}" for column in table.columns + LINEAGE_COLUMNS
    )
    return f"CREATE TABLE IF NOT EXISTS {qualified_name or table.qualified_name} ({columns})"


def history_table(table: TableSpec) -> str:
    return f"{HISTORY_SCHEMA}.{table.schema}__{table.name}"


def held_table(table: TableSpec) -> str:
    return f"{HELD_SCHEMA}.{table.schema}__{table.name}"


def staging_table(name: str, run_id: str) -> str:
    """A run's own staging table: `name`, the run id's first alphanumerics and the owning
    process (`owners.py`)."""
    suffix = "".join(ch for ch in run_id if ch.isalnum())[:12] or "adhoc"
    return f"{STAGING_SCHEMA}.{name}__{suffix}_{owner_tag()}"


def sweep_orphaned_staging(warehouse: Warehouse) -> list[str]:
    """Drop the staging tables whose owning process is gone (killed mid-run); returns them.
    Only where every session runs on this machine (the DuckDB flavour calls it)."""
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


def ensure_schema(warehouse: Warehouse) -> None:
    """Create the silver, gold, staging, history, held and audit schemas and tables if missing,
    the operations store's among them."""
    for schema in ("silver", "gold", STAGING_SCHEMA, HISTORY_SCHEMA, HELD_SCHEMA):
        warehouse.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    for table in TABLES:
        warehouse.execute(table_ddl(table))
        warehouse.execute(table_ddl(table, history_table(table)))
        warehouse.execute(table_ddl(table, held_table(table)))
    audit_tables.create(warehouse, [table.qualified_name for table in TABLES])
    store.create_tables(warehouse)
