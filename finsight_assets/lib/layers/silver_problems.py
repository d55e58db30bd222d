"""What makes a silver day uncomputable, worded once for every engine: each raw file and problem
with its row count and the first rows' keys (docs/contract.md, "Bad raw input")."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from finsight_assets.lib.engines.warehouse import Warehouse
from finsight_assets.lib.layers.silver_run import lake_path

# How many of a problem's rows its error names.
NAMED_ROWS = 5


def named_rows_sql(rows: str, key: str) -> str:
    """Per business date, file and problem of `rows` (business_date, source_file, problem and
    `key`): the first NAMED_ROWS keys and the problem's row count, in the order they are named."""
    group = "business_date, source_file, problem"
    return (
        f"SELECT business_date, source_file, problem, k, n FROM ("
        f"SELECT {group}, {key} AS k, "
        f"ROW_NUMBER() OVER (PARTITION BY {group} ORDER BY {key}) AS r, "
        f"COUNT(*) OVER (PARTITION BY {group}) AS n "
        f"FROM {rows} AS outcomes WHERE problem IS NOT NULL) AS p "
        f"WHERE r <= {NAMED_ROWS} ORDER BY business_date, source_file, problem, k"
    )


def problem_texts(rows: Iterable[tuple[Any, ...]], key: str) -> dict[date, str]:
    """Per business date, its problems in words, from `named_rows_sql`'s rows in order."""
    named: dict[tuple[date, str, str], tuple[list[str], int]] = {}
    for d, source, problem, k, n in rows:
        named.setdefault((d, source, problem), ([], int(n)))[0].append(str(k))
    found: dict[date, list[str]] = {}
    for (d, source, problem), (keys, n) in named.items():
        more = f" and {n - len(keys)} more" if n > len(keys) else ""
        found.setdefault(d, []).append(
            f"{lake_path(source)}: {problem} ({n} row(s); {key} {', '.join(keys)}{more})"
        )
    return {d: "; ".join(texts) for d, texts in found.items()}


def problems(warehouse: Warehouse, outcome_rows: str, key: str) -> dict[date, str]:
    """Per business date of the staged outcome rows, what makes it uncomputable (a small
    result: NAMED_ROWS rows per file and problem)."""
    return problem_texts(warehouse.fetchall(named_rows_sql(outcome_rows, key)), key)
