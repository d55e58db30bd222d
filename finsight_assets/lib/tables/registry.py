"""Every contract table and export, from their declarations, and what derives from them: the
lineage Dagster's deps and backfill scoping share, the code versions, which raw tables each
silver table reads, and the backfill report's money panels.

Loading this module checks every declaration: one that misses a piece, or names a column,
table or raw table that does not exist, raises DeclarationError naming the table and the piece.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from finsight_assets.lib.tables.declaration import (
    PANELS,
    DeclarationError,
    Export,
    RawSource,
    Table,
    check_declaration,
)
from finsight_assets.lib.tables.gold_account_daily_balance import GOLD_ACCOUNT_DAILY_BALANCE
from finsight_assets.lib.tables.gold_daily_customer_summary import GOLD_DAILY_CUSTOMER_SUMMARY
from finsight_assets.lib.tables.gold_segment_daily_report import GOLD_SEGMENT_DAILY_REPORT
from finsight_assets.lib.tables.partner_export import PARTNER_EXPORT
from finsight_assets.lib.tables.silver_customers import SILVER_CUSTOMERS
from finsight_assets.lib.tables.silver_transactions import SILVER_TRANSACTIONS
from finsight_assets.lib.tables.silver_transactions_rejected import SILVER_TRANSACTIONS_REJECTED


def check_registry(tables: Sequence[Table], exports: Sequence[Export] = ()) -> None:
    """Raise DeclarationError unless every declaration is complete and names only known tables,
    each after the tables it is computed from."""
    seen: set[str] = set()
    for table in tables:
        check_declaration(table)
        if table.qualified_name in seen:
            raise DeclarationError(f"table {table.qualified_name}: declared twice")
        unknown = [name for name in table.reads if name not in seen]
        if unknown:
            raise DeclarationError(
                f"table {table.qualified_name}: reads names unknown or later table(s): "
                f"{', '.join(unknown)}"
            )
        seen.add(table.qualified_name)
    for export in exports:
        if not export.code_version:
            raise DeclarationError(f"export {export.qualified_name}: no code_version")
        if export.exported_from not in seen:
            raise DeclarationError(
                f"export {export.qualified_name}: exported_from names an unknown table "
                f"{export.exported_from!r}"
            )


# In publish order: what a table reads comes before it.
TABLES: tuple[Table, ...] = (
    SILVER_TRANSACTIONS,
    SILVER_TRANSACTIONS_REJECTED,
    SILVER_CUSTOMERS,
    GOLD_DAILY_CUSTOMER_SUMMARY,
    GOLD_ACCOUNT_DAILY_BALANCE,
    GOLD_SEGMENT_DAILY_REPORT,
)
EXPORTS: tuple[Export, ...] = (PARTNER_EXPORT,)
check_registry(TABLES, EXPORTS)

TABLES_BY_NAME = {table.qualified_name: table for table in TABLES}
SILVER_TABLES = tuple(table for table in TABLES if table.source is not None)
GOLD_TABLES = tuple(table for table in TABLES if table.sql is not None)

UPSTREAM: dict[str, tuple[str, ...]] = {
    item.qualified_name: item.upstream for item in (*TABLES, *EXPORTS)
}
SELF_DEPENDENT = frozenset(table.qualified_name for table in TABLES if table.self_dependent)
SILVER_AND_GOLD = tuple(TABLES_BY_NAME)
ALL_ASSETS = tuple(UPSTREAM)
CODE_VERSIONS = {item.qualified_name: item.code_version for item in (*TABLES, *EXPORTS)}


def _by_source(tables: Sequence[Table]) -> dict[RawSource, tuple[Table, ...]]:
    by_source: dict[RawSource, tuple[Table, ...]] = {}
    for table in tables:
        if table.source is not None:
            by_source[table.source] = (*by_source.get(table.source, ()), table)
    return by_source


def _money_panels(tables: Sequence[Table]) -> tuple[tuple[tuple[str, str, str], ...], ...]:
    """Per report panel, in drawing order, the (table, money column, title) that offer it, in
    order of preference."""
    return tuple(
        tuple(
            (table.qualified_name, panel.column, panel.title)
            for table, panel in sorted(
                ((t, p) for t in tables for p in t.panels if p.panel == name),
                key=lambda offer: offer[1].preference,
            )
        )
        for name in PANELS
    )


# Each raw source and the silver tables its transform computes, together, in publish order.
SOURCES = _by_source(TABLES)
# Computed together by one step: selecting one selects all.
COMPUTED_TOGETHER = tuple(
    frozenset(t.qualified_name for t in tables) for tables in SOURCES.values() if len(tables) > 1
)
# Per source, its first silver table and the raw tables it reads, in the order their versions
# combine (the tables computed with it read the same).
SILVER_RAW_INPUTS = {
    tables[0].qualified_name: source.raw_tables for source, tables in SOURCES.items()
}
# The raw tables whose rows silver computes (not the rates it only looks up).
RAW_ROW_TABLES = tuple(source.raw_table for source in SOURCES)

# The backfill report's chart: per panel, the (table, money column, title) to draw; the first
# with figures is drawn.
MONEY_PANELS = _money_panels(TABLES)


def raw_tables_of(table_name: str) -> tuple[str, ...]:
    """The raw tables a silver table is computed from, in the order their versions combine
    (none for a table computed from other tables)."""
    table = TABLES_BY_NAME.get(table_name)
    return table.source.raw_tables if table is not None and table.source is not None else ()


def downstream_closure(selected: Iterable[str]) -> list[str]:
    """The selected assets, what is computed with them, and everything downstream, in order."""
    chosen = set(selected)
    unknown = chosen - set(UPSTREAM)
    if unknown:
        raise ValueError(f"unknown asset(s): {', '.join(sorted(unknown))}")
    changed = True
    while changed:
        changed = False
        for group in COMPUTED_TOGETHER:
            if chosen & group and not group <= chosen:
                chosen |= group
                changed = True
        for asset, parents in UPSTREAM.items():
            if asset not in chosen and chosen & set(parents):
                chosen.add(asset)
                changed = True
    return [asset for asset in UPSTREAM if asset in chosen]
