"""The checks a table declaration can name: each check's name, whether it blocks a publish, and
what it means. How each one runs (its audit) is bound in `lib/wap/checks.py`."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CheckSpec:
    """A declared check: a blocking one that fails stops its partitions from publishing."""

    name: str
    blocking: bool
    description: str


COUNT_IDENTITY = CheckSpec(
    "count_identity",
    blocking=True,
    description="Every raw row is accounted for: raw = silver + rejected + duplicates.",
)
UNIQUE_KEY = CheckSpec(
    "unique_key", blocking=True, description="No two rows share the table's key."
)
CONTRACT_SCHEMA = CheckSpec(
    "contract_schema",
    blocking=True,
    description="Rows satisfy the pandera contract schema (types, nulls, values).",
)
DIFF_AGAINST_PUBLISHED = CheckSpec(
    "diff_against_published",
    blocking=False,
    description="Rows added, removed and changed against the published version.",
)
RECONCILES_WITH_SILVER = CheckSpec(
    "reconciles_with_silver",
    blocking=True,
    description="Net flow and transaction counts reconcile with silver.",
)
BALANCE_CONTINUITY = CheckSpec(
    "balance_continuity",
    blocking=True,
    description="Each day opens at the previous day's closing balance.",
)
MONEY_FITS = CheckSpec(
    "money_fits",
    blocking=True,
    description="Every amount fits decimal(18,2); a day with one that does not names it.",
)
CUSTOMERS_SNAPSHOT_PRESENT = CheckSpec(
    "customers_snapshot_present",
    blocking=False,
    description="Each day has a customers snapshot; without one every customer counts under "
    "UNKNOWN/ZZ.",
)

CATALOGUE = (
    COUNT_IDENTITY,
    UNIQUE_KEY,
    CONTRACT_SCHEMA,
    DIFF_AGAINST_PUBLISHED,
    RECONCILES_WITH_SILVER,
    BALANCE_CONTINUITY,
    MONEY_FITS,
    CUSTOMERS_SNAPSHOT_PRESENT,
)

# The checks most tables of a layer run, in the order they run.
SILVER_CHECKS = (COUNT_IDENTITY, UNIQUE_KEY, CONTRACT_SCHEMA, DIFF_AGAINST_PUBLISHED)
GOLD_CHECKS = (
    MONEY_FITS,
    RECONCILES_WITH_SILVER,
    UNIQUE_KEY,
    CONTRACT_SCHEMA,
    DIFF_AGAINST_PUBLISHED,
)
