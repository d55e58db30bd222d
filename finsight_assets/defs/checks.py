"""Audits as Dagster asset checks: one spec per audit, results converted from the lib's audits."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

import dagster as dg

from finsight_assets.defs.keys import asset_key
from finsight_assets.lib.contract.tables import TableSpec
from finsight_assets.lib.wap.publish import AuditResult

CHECK_DESCRIPTIONS = {
    "count_identity": "Every raw row is accounted for: raw = silver + rejected + duplicates.",
    "unique_key": "No two rows share the table's key.",
    "contract_schema": "Rows satisfy the pandera contract schema (types, nulls, values).",
    "diff_against_published": "Rows added, removed and changed against the published version.",
    "reconciles_with_silver": "Net flow and transaction counts reconcile with silver.",
    "balance_continuity": "Each day opens at the previous day's closing balance.",
}
NON_BLOCKING = {"diff_against_published"}


def check_specs(
    table: TableSpec, names: Sequence[str], partitions_def: dg.PartitionsDefinition
) -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec(
            name,
            asset=asset_key(table),
            description=CHECK_DESCRIPTIONS[name],
            blocking=name not in NON_BLOCKING,
            partitions_def=partitions_def,
        )
        for name in names
    ]


def _json_safe(value: object) -> object:
    """Dates and decimals as text: check metadata is JSON."""
    return json.loads(json.dumps(value, default=str))


def check_results(table: TableSpec, results: Iterable[AuditResult]) -> list[dg.AssetCheckResult]:
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
