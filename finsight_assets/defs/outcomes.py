"""Turn what a lib computation did into Dagster events: check results, materializations, failure."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import dagster as dg

from finsight_assets.defs.checks import check_results, not_evaluated
from finsight_assets.defs.keys import asset_key
from finsight_assets.defs.resources.local import WarehouseResource
from finsight_assets.lib.contract.tables import TableSpec
from finsight_assets.lib.wap import audit_schema
from finsight_assets.lib.wap.model import AuditFailed, LayerResult, PartitionVersion, RunInfo


def _version_metadata(versions: Sequence[PartitionVersion]) -> dict[str, Any]:
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


def _log_partition_materializations(
    context: dg.AssetExecutionContext, table: TableSpec, versions: Sequence[PartitionVersion]
) -> None:
    for version in versions:
        context.log_event(
            dg.AssetMaterialization(
                asset_key=asset_key(table),
                partition=version.business_date.isoformat(),
                metadata={
                    "dagster/row_count": version.row_count,
                    "version_id": version.version_id,
                },
            )
        )


def run_and_report(
    context: dg.AssetExecutionContext,
    tables: Sequence[TableSpec],
    run: RunInfo,
    warehouse: WarehouseResource,
    compute: Callable[[], LayerResult],
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    """Run a write-audit-publish computation and report it; raise if anything was not published.

    A blocking audit failure publishes nothing (its check results are still reported). Raw
    partitions that broke the contract fail the step after the other partitions are published.
    Partitions published beyond the run's own (a balance chain rolled forward) are listed in the
    materialization's metadata.
    """
    started = time.perf_counter()
    try:
        result = compute()
    except AuditFailed as error:
        for table in tables:
            yield from check_results(table, error.audits.get(table.qualified_name, []))
        raise dg.Failure(description=str(error)) from error
    own = set(context.partition_keys)
    for table in tables:
        versions = result.versions.get(table.qualified_name, [])
        beyond = [v for v in versions if v.business_date.isoformat() not in own]
        if result.failed:
            _log_partition_materializations(context, table, versions)
            yield from check_results(table, result.audits.get(table.qualified_name, []))
            continue
        metadata = _version_metadata(versions)
        # Days a balance chain was rolled forward to are in the metadata, not materializations
        # of those partitions: a batched backfill must still run its own run for them.
        metadata["rolled_forward_to"] = [v.business_date.isoformat() for v in beyond]
        metadata["mode"] = run.mode
        metadata["published"] = bool(versions)
        if result.skipped:
            metadata["skipped"] = result.skipped
        yield dg.MaterializeResult(asset_key=asset_key(table), metadata=metadata)
        yield from check_results(table, result.audits.get(table.qualified_name, []))
        if result.skipped:
            yield from not_evaluated(context, table, result.skipped)
    with warehouse.connect() as connection:
        audit_schema.record_run_step(
            connection,
            audit_schema.RunStep(
                run_id=run.run_id,
                asset=",".join(t.qualified_name for t in tables),
                partitions=len(own),
                raw_rows=result.raw_rows,
                rows_written=sum(v.row_count for vs in result.versions.values() for v in vs),
                seconds=time.perf_counter() - started,
                run_started_at=run.clock,
            ),
        )
    if result.failed:
        problems = "\n".join(f"{d}: {problem}" for d, problem in sorted(result.failed.items()))
        raise dg.Failure(
            description=f"{len(result.failed)} partition(s) not published:\n{problems}",
            metadata={
                "failed_partitions": dg.MetadataValue.json(
                    {d.isoformat(): p for d, p in result.failed.items()}
                )
            },
        )
