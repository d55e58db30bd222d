"""A table's contract schema as SQL, from its one declaration: each column's nullability and
value rules (`Table.rules`) as a predicate true on a row that breaks it, named as pandera names
the same check (`pandera_schemas.py` builds pandera's schema from the same declaration), and
each column's declared type checked against the engine's catalogue. The rows stay where they
are: nothing here fetches one.

The engines differ only in the regular-expression function and in how their catalogue spells
a type; both are chosen here by the warehouse's `dialect`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from finsight_assets.lib.contract.tables import (
    ARROW_TYPES,
    COUNT_SQL,
    DATE,
    TEXT,
    TIMESTAMP_SQL,
    TableSpec,
)
from finsight_assets.lib.engines.warehouse import Warehouse, bound
from finsight_assets.lib.tables.declaration import Rule, Table

# Both engines match a whole string (DuckDB's regexp_full_match, Snowflake's REGEXP_LIKE);
# pandera's str_matches matches at its start (re.match), so the pattern becomes `(pattern).*`,
# with `s` letting `.` match a line break too.
REGEX_FULL_MATCH = {"duckdb": "regexp_full_match", "snowflake": "REGEXP_LIKE"}

# Rule -> (pandera's name of the check, SQL operator a conforming value satisfies).
_COMPARISONS = {
    "gt": ("greater_than", ">"),
    "ge": ("greater_than_or_equal_to", ">="),
    "lt": ("less_than", "<"),
    "le": ("less_than_or_equal_to", "<="),
}


@dataclass(frozen=True)
class Violation:
    """One check of one column: `sql` (with `params` for its placeholders) is true on a row
    that breaks it; `check` is pandera's name for it."""

    column: str
    check: str
    sql: str
    params: tuple[Any, ...] = ()


def _rule_sql(column: str, rule: Rule, dialect: str) -> tuple[str, str, list[Any]]:
    if rule.check == "isin":
        (values,) = rule.args
        listed, params = bound(list(values))
        return f"isin({values!r})", f"{column} NOT IN ({listed})", params
    if rule.check in _COMPARISONS:
        name, operator = _COMPARISONS[rule.check]
        (limit,) = rule.args
        return f"{name}({limit!r})", f"NOT ({column} {operator} ?)", [limit]
    if rule.check == "str_matches":
        (pattern,) = rule.args
        function = REGEX_FULL_MATCH[dialect]
        return f"str_matches({pattern!r})", f"NOT {function}({column}, ?, 's')", [f"({pattern}).*"]
    if rule.check == "str_length":
        low, high = rule.args
        between = f"LENGTH({column}) NOT BETWEEN ? AND ?"
        return f"str_length({low!r}, {high!r})", between, [low, high]
    raise ValueError(f"rule {rule.check!r} of column {column} has no SQL")


def violations(table: TableSpec, dialect: str) -> list[Violation]:
    """Every check of the table's contract schema but the types, in pandera's order (by column:
    nullability, then the column's rules); a value rule skips NULLs, as pandera's do."""
    rules = table.rules if isinstance(table, Table) else {}
    found: list[Violation] = []
    for column in table.columns:
        if not column.nullable:
            found.append(Violation(column.name, "not_nullable", f"{column.name} IS NULL"))
        for rule in rules.get(column.name, ()):
            check, sql, params = _rule_sql(column.name, rule, dialect)
            guarded = f"({column.name} IS NOT NULL AND {sql})"
            found.append(Violation(column.name, check, guarded, tuple(params)))
    return found


def any_violation(found: Sequence[Violation]) -> tuple[str, list[Any]]:
    """A predicate true on a row that breaks any of `found`, and its parameters."""
    if not found:
        return "FALSE", []
    return " OR ".join(f"({v.sql})" for v in found), [p for v in found for p in v.params]


def _snowflake_type(data_type: str, precision: Any, scale: Any) -> str:
    """A Snowflake catalogue type as the contract's SQL type it fetches as (`result_schema`):
    NUMBER(p, s) as DECIMAL(p,s), or a count when s is 0; any timestamp as the UTC instant."""
    kind = data_type.upper()
    if kind in ("NUMBER", "DECIMAL", "NUMERIC"):
        return COUNT_SQL if not scale else f"DECIMAL({int(precision)},{int(scale)})"
    if kind in ("TEXT", "VARCHAR", "STRING"):
        return TEXT
    if kind.startswith("TIMESTAMP"):
        return TIMESTAMP_SQL
    return DATE if kind == "DATE" else kind


@dataclass(frozen=True)
class TypeMismatch:
    """A column whose type in the engine's catalogue is not the declared one; `check` is
    pandera's name of its dtype check."""

    column: str
    check: str
    found: str


def type_mismatches(warehouse: Warehouse, table: TableSpec, relation: str) -> list[TypeMismatch]:
    """The columns of `relation` (a schema-qualified table, or catalog- and schema-qualified)
    not of their declared type (a small catalogue query: one row per column)."""
    *catalog, schema, name = relation.split(".")
    in_catalog = " AND UPPER(table_catalog) = UPPER(?)" if catalog else ""
    rows = warehouse.fetchall(
        "SELECT column_name, data_type, numeric_precision, numeric_scale "
        "FROM information_schema.columns WHERE UPPER(table_schema) = UPPER(?) "
        f"AND UPPER(table_name) = UPPER(?){in_catalog}",
        [schema, name, *catalog],
    )
    found = {
        str(column).lower(): str(kind)
        if warehouse.dialect != "snowflake"
        else _snowflake_type(str(kind), precision, scale)
        for column, kind, precision, scale in rows
    }
    return [
        TypeMismatch(
            column.name, f"dtype('{ARROW_TYPES[column.sql_type]}[pyarrow]')", found[column.name]
        )
        for column in table.columns
        if column.name in found and found[column.name] != column.sql_type
    ]
