"""What a table declaration says, and what makes one incomplete or inconsistent.

A silver table is computed from a raw source by a Spark transform (`RawSource`, the rows of one
`outcome`); a gold table by its SQL over the tables it `reads`. Both declare their shape, code
version, value rules, checks and report panels. `problems` lists what a declaration misses, so
the registry refuses to load it, naming the table and the piece.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from finsight_assets.lib.contract.tables import RAW_TABLES, TableSpec
from finsight_assets.lib.tables.checks import CheckSpec


class DeclarationError(ValueError):
    """A table declaration misses a piece or contradicts itself."""


@dataclass(frozen=True)
class Rule:
    """A value rule beyond type and nullability: a pandera `Check` by name, with its arguments."""

    check: str
    args: tuple[Any, ...] = ()


# The rules a declaration may use: each has a pandera check (`pandera_schemas.py`) and SQL
# (`contract_sql.py`).
RULE_CHECKS = ("isin", "gt", "ge", "lt", "le", "str_matches", "str_length")


def one_of(values: Sequence[str]) -> Rule:
    return Rule("isin", (tuple(values),))


def above(bound: int) -> Rule:
    return Rule("gt", (bound,))


def at_least(bound: int) -> Rule:
    return Rule("ge", (bound,))


def matches(pattern: str) -> Rule:
    return Rule("str_matches", (pattern,))


def length(low: int, high: int) -> Rule:
    return Rule("str_length", (low, high))


@dataclass(frozen=True)
class MoneyPanel:
    """A panel of a backfill report's chart: a money column's daily sum. Where several tables
    offer the same panel, the one with the lowest `preference` that has figures is drawn."""

    panel: str
    column: str
    title: str
    preference: int = 0


# The report's panels, in the order they are drawn.
PANELS = ("net flow", "closing balances")


@dataclass(frozen=True)
class RawSource:
    """What silver reads: a raw table's files, which one Spark transform turns into outcome
    rows (every raw row once, labelled with one of `outcomes`), and optionally a raw table of
    USD rates read in the driver. The tables sharing a source are computed together."""

    transform: str
    raw_table: str
    outcomes: tuple[str, ...]
    # The column that names a row in an error.
    row_key: str
    rates_table: str | None = None

    @property
    def raw_tables(self) -> tuple[str, ...]:
        """The raw tables read, in the order their versions combine."""
        return (self.raw_table, *([self.rates_table] if self.rates_table else []))


Reads = Mapping[str, str]
# A gold table's SELECT of its business columns over a range of dates, and its parameters.
GoldSql = Callable[[Sequence[date], Reads | None], tuple[str, list[Any]]]


@dataclass(frozen=True, kw_only=True)
class Table(TableSpec):
    """One silver or gold table, declared once: everything else about it derives from this."""

    description: str
    code_version: str
    checks: tuple[CheckSpec, ...]
    rules: Mapping[str, tuple[Rule, ...]] = field(default_factory=dict, compare=False)
    panels: tuple[MoneyPanel, ...] = ()
    # Silver: its source, and the outcome whose rows are this table.
    source: RawSource | None = None
    outcome: str | None = None
    # Gold: the tables its SQL reads, and the SQL.
    reads: tuple[str, ...] = ()
    sql: GoldSql | None = None
    # Each partition also reads the previous day's partition of itself (and rolls forward).
    self_dependent: bool = False

    @property
    def upstream(self) -> tuple[str, ...]:
        """What the table is computed from: raw tables for silver, tables for gold."""
        if self.source is not None:
            return tuple(f"raw.{name}" for name in self.source.raw_tables)
        return self.reads


@dataclass(frozen=True, kw_only=True)
class Export:
    """A file handed to partners: a copy of one table's rows per business date."""

    qualified_name: str
    description: str
    code_version: str
    exported_from: str

    @property
    def upstream(self) -> tuple[str, ...]:
        return (self.exported_from,)


def _layer_problems(table: Table) -> list[str]:
    if table.schema == "silver":
        if table.source is None:
            return ["no source (a silver table is computed from a raw source)"]
        problems = [
            f"source reads raw table {name!r}, which the contract does not have"
            for name in table.source.raw_tables
            if name not in RAW_TABLES
        ]
        if table.outcome not in table.source.outcomes:
            problems.append(f"outcome {table.outcome!r} is not one of {table.source.outcomes}")
        if table.sql is not None or table.reads:
            problems.append("sql or reads given (silver is computed by its source's transform)")
        return problems
    if table.schema == "gold":
        problems = []
        if table.sql is None:
            problems.append("no sql (a gold table is computed by its SQL)")
        if not table.reads:
            problems.append("no reads (the tables its SQL reads)")
        if table.source is not None:
            problems.append("a source given (gold is computed by its SQL)")
        return problems
    return [f"schema {table.schema!r} is neither silver nor gold"]


def problems(table: Table) -> list[str]:
    """What is missing from or inconsistent in a declaration (empty: it is complete)."""
    found = _layer_problems(table)
    if not table.description:
        found.append("no description")
    if not table.code_version:
        found.append("no code_version")
    if not table.checks:
        found.append("no checks")
    names = [check.name for check in table.checks]
    if len(names) != len(set(names)):
        found.append(f"checks repeat a check: {names}")
    columns = set(table.business_columns)
    if not columns:
        found.append("no columns")
    named = [
        ("key", table.key or ()),
        ("money_columns", table.money_columns),
        ("rules", tuple(table.rules)),
        ("panels", tuple(panel.column for panel in table.panels)),
    ]
    for piece, listed in named:
        unknown = [name for name in listed if name not in columns]
        if unknown:
            found.append(f"{piece} name column(s) not in its columns: {', '.join(unknown)}")
    unknown_rules = sorted(
        {rule.check for rules in table.rules.values() for rule in rules} - set(RULE_CHECKS)
    )
    if unknown_rules:
        found.append(f"rules use check(s) without SQL: {', '.join(unknown_rules)}")
    for panel in table.panels:
        if panel.panel not in PANELS:
            found.append(f"panels: {panel.panel!r} is not a report panel {PANELS}")
        if panel.column in columns and panel.column not in table.money_columns:
            found.append(f"panels: {panel.column} is not one of its money_columns")
    return found


def check_declaration(table: Table) -> None:
    """Raise DeclarationError naming the table and every piece it misses."""
    found = problems(table)
    if found:
        raise DeclarationError(f"table {table.qualified_name}: {'; '.join(found)}")
