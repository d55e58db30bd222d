"""The checks each table runs, as its declaration lists them (`lib/tables`), bound to the audits
that run them. The asset check specs, the audits each layer runs and the descriptions the
Dagster UI shows all come from here."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from finsight_assets.lib.engines.warehouse import Warehouse
from finsight_assets.lib.tables import checks as catalogue
from finsight_assets.lib.tables.declaration import DeclarationError, Table
from finsight_assets.lib.tables.registry import TABLES
from finsight_assets.lib.wap.audits import diff, generic, reconcile
from finsight_assets.lib.wap.model import AuditInputs, AuditOutcome, AuditResult, StagedPartitions

AuditFunction = Callable[[Warehouse, StagedPartitions, AuditInputs], AuditOutcome]


@dataclass(frozen=True)
class Check:
    """A check as it runs: a blocking one that fails stops its partitions from publishing."""

    name: str
    audit: AuditFunction
    blocking: bool
    description: str


class UndeclaredCheck(ValueError):
    """Check results and declarations disagree (a check ran that is not declared, or not)."""


# How each declared check runs.
AUDITS: dict[str, AuditFunction] = {
    catalogue.COUNT_IDENTITY.name: reconcile.count_identity,
    catalogue.UNIQUE_KEY.name: generic.unique_key,
    catalogue.CONTRACT_SCHEMA.name: generic.contract_schema,
    catalogue.DIFF_AGAINST_PUBLISHED.name: diff.diff_against_published,
    catalogue.RECONCILES_WITH_SILVER.name: reconcile.reconciles_with_silver,
    catalogue.BALANCE_CONTINUITY.name: reconcile.balance_continuity,
    catalogue.MONEY_FITS.name: generic.money_fits,
    catalogue.CUSTOMERS_SNAPSHOT_PRESENT.name: reconcile.customers_snapshot_present,
}


def _runnable(table: Table) -> tuple[Check, ...]:
    unbound = [spec.name for spec in table.checks if spec.name not in AUDITS]
    if unbound:
        raise DeclarationError(
            f"table {table.qualified_name}: checks name check(s) without an audit: "
            f"{', '.join(unbound)}"
        )
    return tuple(
        Check(spec.name, AUDITS[spec.name], blocking=spec.blocking, description=spec.description)
        for spec in table.checks
    )


# The checks of each table, in the order they run, as its declaration lists them.
TABLE_CHECKS: dict[str, tuple[Check, ...]] = {
    table.qualified_name: _runnable(table) for table in TABLES
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
