"""Audits as Dagster asset checks: specs from the check registry, results from the audits."""

from __future__ import annotations

import json
from collections.abc import Sequence

import dagster as dg

from finsight_assets.defs.keys import asset_key
from finsight_assets.lib.contract.tables import TableSpec
from finsight_assets.lib.wap.checks import checks_of, verify_declared
from finsight_assets.lib.wap.model import AuditResult


def check_specs(
    table: TableSpec, partitions_def: dg.PartitionsDefinition
) -> list[dg.AssetCheckSpec]:
    """The table's declared checks as asset check specs (name, blocking, description)."""
    return [
        dg.AssetCheckSpec(
            check.name,
            asset=asset_key(table),
            description=check.description,
            blocking=check.blocking,
            partitions_def=partitions_def,
        )
        for check in checks_of(table.qualified_name)
    ]


def check_results(table: TableSpec, results: Sequence[AuditResult]) -> list[dg.AssetCheckResult]:
    """Audit results as check results; they must be exactly the table's declared checks."""
    if results:
        verify_declared(table.qualified_name, results)
    return [
        dg.AssetCheckResult(
            asset_key=asset_key(table),
            check_name=result.name,
            passed=result.passed,
            severity=dg.AssetCheckSeverity.ERROR if result.blocking else dg.AssetCheckSeverity.WARN,
            description=result.summary,
            metadata={
                "summary": result.summary,
                "details": dg.MetadataValue.json(
                    json.loads(json.dumps(result.metadata, default=str))
                ),
            },
        )
        for result in results
    ]


def not_evaluated(
    context: dg.AssetExecutionContext, table: TableSpec, reason: str
) -> list[dg.AssetCheckResult]:
    """Results for checks that had nothing to check (a dry run's gold without silver): Dagster
    needs one per declared check; the description says none was evaluated and why."""
    return [
        dg.AssetCheckResult(
            asset_key=asset_key(table),
            check_name=key.name,
            passed=True,
            severity=dg.AssetCheckSeverity.WARN,
            description=f"not evaluated: {reason}",
            metadata={"evaluated": False, "reason": reason},
        )
        for key in context.assets_def.check_keys
        if key.asset_key == asset_key(table)
    ]
