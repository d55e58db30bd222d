"""Every check, declared once: its name, its audit, whether it blocks a publish, what it means,
and which tables run it. The asset check specs, the audits each layer runs and the descriptions
the Dagster UI shows all come from here."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from finsight_assets.lib.contract import tables
from finsight_assets.lib.engines.warehouse import Warehouse
from finsight_assets.lib.wap.audits import generic, reconcile
from finsight_assets.lib.wap.model import AuditInputs, AuditOutcome, AuditResult, StagedPartitions

AuditFunction = Callable[[Warehouse, StagedPartitions, AuditInputs], AuditOutcome]


@dataclass(frozen=True)
class Check:
    """One declared check: a blocking one that fails stops its partitions from publishing."""

    name: str
    audit: AuditFunction
    blocking: bool
    description: str


class UndeclaredCheck(ValueError):
    """Check results and declarations disagree (a check ran that is not declared, or not)."""


COUNT_IDENTITY = Check(
    "count_identity",
    reconcile.count_identity,
    blocking=True,
    description="Every raw row is accounted for: raw = silver + rejected + duplicates.",
)
UNIQUE_KEY = Check(
    "unique_key",
    generic.unique_key,
    blocking=True,
    description="No two rows share the table's key.",
)
CONTRACT_SCHEMA = Check(
    "contract_schema",
    generic.contract_schema,
    blocking=True,
    description="Rows satisfy the pandera contract schema (types, nulls, values).",
)
DIFF_AGAINST_PUBLISHED = Check(
    "diff_against_published",
    generic.diff_against_published,
    blocking=False,
    description="Rows added, removed and changed against the published version.",
)
RECONCILES_WITH_SILVER = Check(
    "reconciles_with_silver",
    reconcile.reconciles_with_silver,
    blocking=True,
    description="Net flow and transaction counts reconcile with silver.",
)
BALANCE_CONTINUITY = Check(
    "balance_continuity",
    reconcile.balance_continuity,
    blocking=True,
    description="Each day opens at the previous day's closing balance.",
)

MONEY_FITS = Check(
    "money_fits",
    generic.money_fits,
    blocking=True,
    description="Every amount fits decimal(18,2); a day with one that does not names it.",
)
CUSTOMERS_SNAPSHOT_PRESENT = Check(
    "customers_snapshot_present",
    reconcile.customers_snapshot_present,
    blocking=False,
    description="Each day has a customers snapshot; without one every customer counts under "
    "UNKNOWN/ZZ.",
)

_SILVER = (COUNT_IDENTITY, UNIQUE_KEY, CONTRACT_SCHEMA, DIFF_AGAINST_PUBLISHED)
_GOLD = (MONEY_FITS, RECONCILES_WITH_SILVER, UNIQUE_KEY, CONTRACT_SCHEMA, DIFF_AGAINST_PUBLISHED)

# The checks of each table, in the order they run.
TABLE_CHECKS: dict[str, tuple[Check, ...]] = {
    tables.SILVER_TRANSACTIONS.qualified_name: _SILVER,
    tables.SILVER_TRANSACTIONS_REJECTED.qualified_name: _SILVER,
    tables.SILVER_CUSTOMERS.qualified_name: _SILVER,
    tables.GOLD_DAILY_CUSTOMER_SUMMARY.qualified_name: _GOLD,
    tables.GOLD_SEGMENT_DAILY_REPORT.qualified_name: (*_GOLD, CUSTOMERS_SNAPSHOT_PRESENT),
    tables.GOLD_ACCOUNT_DAILY_BALANCE.qualified_name: (
        MONEY_FITS,
        RECONCILES_WITH_SILVER,
        BALANCE_CONTINUITY,
        UNIQUE_KEY,
        CONTRACT_SCHEMA,
        DIFF_AGAINST_PUBLISHED,
    ),
}


def checks_of(table_name: str) -> tuple[Check, ...]:
    return TABLE_CHECKS[table_name]


def run_check(
    check: Check, warehouse: Warehouse, staged: StagedPartitions, inputs: AuditInputs
) -> AuditResult:
    """Run one declared check's audit on the staged rows; name and blocking as declared."""
    outcome = check.audit(warehouse, staged, inputs)
    return AuditResult(
        name=check.name,
        passed=outcome.passed,
        summary=outcome.summary,
        blocking=check.blocking,
        metadata=outcome.metadata,
        by_date=outcome.by_date,
    )


def verify_declared(table_name: str, results: Sequence[AuditResult]) -> None:
    """Raise UndeclaredCheck unless the results are exactly the table's declared checks."""
    declared = [check.name for check in checks_of(table_name)]
    found = [result.name for result in results]
    if sorted(found) != sorted(declared):
        missing = sorted(set(declared) - set(found))
        extra = sorted(set(found) - set(declared))
        raise UndeclaredCheck(
            f"{table_name}: check results {found} do not match the declared checks {declared}"
            + (f"; no result for {missing}" if missing else "")
            + (f"; not declared: {extra}" if extra else "")
        )
