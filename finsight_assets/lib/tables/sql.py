"""What gold's SQL shares, in the subset DuckDB and Snowflake both run: which relation a table is
read from, a bound date range, and money that fits the contract's type.

Each gold declaration's SELECT reads the published tables, or the relation `reads` names
instead: `layers/gold.py` names the exact versions gold records as its inputs (and a held
backfill's own held versions over the published ones); dates are bound, never written into the
text.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from finsight_assets.lib.contract.tables import MONEY_LIMIT, MONEY_SQL
from finsight_assets.lib.engines.warehouse import bind
from finsight_assets.lib.tables.declaration import Reads


def read(reads: Reads | None, table_name: str) -> str:
    return (reads or {}).get(table_name, table_name)


def date_range(dates: Sequence[date]) -> tuple[str, list[Any]]:
    low, low_params = bind(min(dates))
    high, high_params = bind(max(dates))
    return f"BETWEEN {low} AND {high}", low_params + high_params


def money(expression: str) -> str:
    """An amount as MONEY; NULL where it does not fit, which the blocking `money_fits` check
    reports by day and key (a cast would fail the whole statement, naming no day)."""
    return f"CAST(CASE WHEN ABS({expression}) < {MONEY_LIMIT} THEN {expression} END AS {MONEY_SQL})"
