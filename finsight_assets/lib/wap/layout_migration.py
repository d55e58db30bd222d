"""From the layout before versions tables: published tables with history and held twins
(`history.<schema>__<table>`, `held.<schema>__<table>`) to one versions table per declared
table, the declared tables views of it (`layout.py`).

Each twin's rows are copied into the versions table, a version at most once (a version's rows
were in one of the three places at any moment), so a migration killed half way is finished by
the next connection; then the old published table and its twins are dropped, and the view is
created in its place by `layout.ensure_schema`.

A versions table from before row hashes were stored gets its `ROW_HASH` column, filled from
each row's values (the hash every verification recomputes), in one transaction with the
column on DuckDB; a row still without one (Snowflake commits the ALTER alone) is hashed on read.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

from finsight_assets.lib.contract.tables import LINEAGE_COLUMN_NAMES, TableSpec
from finsight_assets.lib.engines.warehouse import Warehouse
from finsight_assets.lib.wap.profile import ROW_HASH, row_hash

logger = logging.getLogger(__name__)

OLD_TWIN_SCHEMAS = ("history", "held")


def _base_tables(warehouse: Warehouse) -> set[str]:
    rows = warehouse.fetchall(
        "SELECT table_schema, table_name FROM information_schema.tables "
        "WHERE table_type = 'BASE TABLE' AND LOWER(table_schema) IN (?, ?, ?, ?)",
        ["silver", "gold", *OLD_TWIN_SCHEMAS],
    )
    return {f"{schema}.{name}".lower() for schema, name in rows}


def migrate_twins(
    warehouse: Warehouse, tables: Sequence[TableSpec], versions_of: Mapping[str, str]
) -> None:
    """Move the rows of every declared table still a table (the old layout), and of its twins,
    into its versions table (`versions_of`: declared name -> versions table), and drop them."""
    found = _base_tables(warehouse)
    for table in tables:
        if table.qualified_name.lower() not in found:
            continue
        target = versions_of[table.qualified_name]
        columns = ", ".join(table.business_columns + LINEAGE_COLUMN_NAMES)
        hashed = row_hash(warehouse, table)
        twins = [f"{schema}.{table.schema}__{table.name}" for schema in OLD_TWIN_SCHEMAS]
        sources = [table.qualified_name, *(t for t in twins if t.lower() in found)]
        for source in sources:
            warehouse.execute(
                f"INSERT INTO {target} ({columns}, {ROW_HASH}) "
                f"SELECT {columns}, {hashed} FROM {source} "
                f"WHERE _version_id NOT IN (SELECT DISTINCT _version_id FROM {target})"
            )
        for source in reversed(sources):
            warehouse.execute(f"DROP TABLE IF EXISTS {source}")
        logger.info("moved %s and its twins into %s", table.qualified_name, target)


def _unhashed(warehouse: Warehouse, versions_of: Mapping[str, str]) -> set[str]:
    """The versions tables (lower case) without a `ROW_HASH` column."""
    rows = warehouse.fetchall(
        "SELECT table_schema, table_name FROM information_schema.columns "
        "WHERE LOWER(column_name) = ?",
        [ROW_HASH],
    )
    hashed = {f"{schema}.{name}".lower() for schema, name in rows}
    return {name.lower() for name in versions_of.values()} - hashed


def add_row_hashes(
    warehouse: Warehouse, tables: Sequence[TableSpec], versions_of: Mapping[str, str]
) -> None:
    """Give each versions table without one its `ROW_HASH` column, filled from the values."""
    missing = _unhashed(warehouse, versions_of)
    for table in tables:
        target = versions_of[table.qualified_name]
        if target.lower() not in missing:
            continue
        with warehouse.transaction():
            added = f"{ROW_HASH} {warehouse.row_hash_type}"
            warehouse.execute(f"ALTER TABLE {target} ADD COLUMN {added}")
            warehouse.execute(
                f"UPDATE {target} SET {ROW_HASH} = {row_hash(warehouse, table)} "
                f"WHERE {ROW_HASH} IS NULL"
            )
        logger.info("stored the row hash of every row of %s", target)
