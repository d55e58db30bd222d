"""Turn what a lib computation did into Dagster events: check results, materializations, failure."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import dagster as dg

from finsight_assets.defs.checks import asset_key, check_results
from finsight_assets.lib.contract import TableSpec
from finsight_assets.lib.publish import AuditFailed
from finsight_assets.lib.silver import LayerResult


def _materialization_metadata(result: LayerResult, table: TableSpec) -> dict[str, Any]:
    versions = result.versions.get(table.qualified_name, [])
    return {
        "dagster/row_count": sum(v.row_count for v in versions),
        "partitions_published": len(versions),
        "versions": dg.MetadataValue.json(
            {
                v.business_date.isoformat(): {
                    "version_id": v.version_id,
                    "rows": v.row_count,
                    "checksum": v.checksum,
                    "input_version": v.input_version,
                    "replaced_version_id": v.replaced_version_id,
                }
                for v in versions
            }
        ),
    }


def run_and_report(
    context: dg.AssetExecutionContext,
    tables: Sequence[TableSpec],
    compute: Callable[[], LayerResult],
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    """Run a write-audit-publish computation and report it; raise if anything was not published.

    A blocking audit failure publishes nothing (its check results are still reported). Raw
    partitions that broke the contract fail the step after the other partitions are published.
    """
    try:
        result = compute()
    except AuditFailed as error:
        for table in tables:
            yield from check_results(table, error.audits.get(table.qualified_name, []))
        raise dg.Failure(description=str(error)) from error
    if result.failed:
        for table in tables:
            yield from check_results(table, result.audits.get(table.qualified_name, []))
            for version in result.versions.get(table.qualified_name, []):
                context.log_event(
                    dg.AssetMaterialization(
                        asset_key=asset_key(table),
                        partition=version.business_date.isoformat(),
                        metadata={"dagster/row_count": version.row_count},
                    )
                )
        problems = "\n".join(f"{d}: {problem}" for d, problem in sorted(result.failed.items()))
        raise dg.Failure(
            description=f"{len(result.failed)} partition(s) not published:\n{problems}",
            metadata={
                "failed_partitions": dg.MetadataValue.json(
                    {d.isoformat(): p for d, p in result.failed.items()}
                )
            },
        )
    for table in tables:
        yield dg.MaterializeResult(
            asset_key=asset_key(table), metadata=_materialization_metadata(result, table)
        )
        yield from check_results(table, result.audits.get(table.qualified_name, []))
