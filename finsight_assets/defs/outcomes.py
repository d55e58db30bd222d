"""Turn what a lib computation did into Dagster events: materializations, check evaluations,
failure."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from datetime import date
from typing import Any

import dagster as dg

from finsight_assets.defs.checks import check_evaluations, not_evaluated
from finsight_assets.defs.keys import asset_key
from finsight_assets.defs.resources.local import WarehouseResource
from finsight_assets.defs.run_context import business_dates, run_lane
from finsight_assets.lib.contract.tables import TableSpec
from finsight_assets.lib.wap.estimates import record_run_step
from finsight_assets.lib.wap.model import (
    AuditFailed,
    LayerResult,
    PartitionVersion,
    RunInfo,
    RunStep,
)


def _version_metadata(versions: Sequence[PartitionVersion], partitions: int) -> dict[str, Any]:
    """What a step published, as its materialization's metadata. Dagster gives every partition
    of a range run the same metadata, so a row count is set only for a one-partition run; each
    day's rows are in `versions`."""
    metadata: dict[str, Any] = {
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
    if partitions == 1:
        metadata["dagster/row_count"] = sum(v.row_count for v in versions)
    return metadata


def _partition_materializations(
    table: TableSpec, versions: Sequence[PartitionVersion]
) -> Iterator[dg.AssetMaterialization]:
    """One materialization per published partition, with that partition's own row count."""
    for version in versions:
        yield dg.AssetMaterialization(
            asset_key=asset_key(table),
            partition=version.business_date.isoformat(),
            metadata={"dagster/row_count": version.row_count, "version_id": version.version_id},
        )


def _this_runs_materializations(
    context: dg.AssetExecutionContext, table: TableSpec, dates: Sequence[date]
) -> dict[date, dg.EventLogRecord]:
    """The materialization records this run just wrote for `dates`, by date."""
    if not dates:
        return {}
    records = context.instance.fetch_materializations(
        dg.AssetRecordsFilter(
            asset_key=asset_key(table), asset_partitions=[d.isoformat() for d in dates]
        ),
        limit=len(dates) * 4,
    ).records
    return {
        date.fromisoformat(r.partition_key): r
        for r in reversed(records)
        if r.run_id == context.run.run_id and r.partition_key
    }


def _log(context: dg.AssetExecutionContext, events: Sequence[dg.AssetCheckEvaluation]) -> None:
    for event in events:
        context.log_event(event)


def run_and_report(
    context: dg.AssetExecutionContext,
    tables: Sequence[TableSpec],
    run: RunInfo,
    warehouse: WarehouseResource,
    compute: Callable[[], LayerResult],
) -> Iterator[dg.MaterializeResult | dg.AssetMaterialization]:
    """Run a write-audit-publish computation and report it; raise if anything was not published.

    Every audit's verdict on every audited day is that partition's check evaluation, tied to
    the materialization it judged (`defs/checks.py`). A blocking audit failure publishes
    nothing; raw partitions that broke the contract fail the step after the other partitions
    are published (each its own materialization). A table published with a selected one but
    not selected itself (the UI can pick one of silver's pair) is reported the same way.
    """
    started = time.perf_counter()
    own = business_dates(context)
    try:
        result = compute()
    except AuditFailed as error:
        for table in tables:
            _log(context, check_evaluations(table, error.audits.get(table.qualified_name, []), own))
        raise dg.Failure(description=str(error)) from error
    for table in tables:
        held = result.held.get(table.qualified_name, [])
        versions = result.versions.get(table.qualified_name, []) or held
        beyond = [v for v in versions if v.business_date not in own]
        if result.failed or asset_key(table) not in context.selected_asset_keys:
            # No output: the step fails, or the table was published with a selected one.
            yield from _partition_materializations(
                table, [v for v in versions if v.business_date in own]
            )
        else:
            metadata = _version_metadata(versions, len(own))
            metadata["rolled_forward_to"] = [v.business_date.isoformat() for v in beyond]
            metadata["mode"] = run.mode
            # What the run's tags say for CLI backfills; a UI backfill's runs carry only
            # Dagster's tags (the project cannot add its own), so each output records them.
            metadata["lane"] = run_lane(dict(context.run.tags))
            if run.manifest_id:
                metadata["manifest_id"] = run.manifest_id
            metadata["published"] = bool(versions) and not held
            if held:
                metadata["held_for_approval"] = (
                    f"not live: held for approval of {run.manifest_id} "
                    f"(finsight backfill status {run.manifest_id})"
                )
            if result.skipped:
                metadata["skipped"] = result.skipped
            yield dg.MaterializeResult(asset_key=asset_key(table), metadata=metadata)
            if not held:
                # The later days a balance chain rolled forward to changed too: each is that
                # partition's latest materialization, with its own rows. (The chain runs its
                # whole backfill range in one run, so no later run of the backfill targets
                # them.) Held days are reported when published
                # (`defs/sensors/published_outside_runs.py`).
                yield from _partition_materializations(table, beyond)
        audited = sorted((set(own) - set(result.failed)) | set(result.withheld))
        judged = _this_runs_materializations(context, table, audited)
        audits = result.audits.get(table.qualified_name, [])
        _log(context, check_evaluations(table, audits, audited, judged))
        if result.skipped:
            _log(context, not_evaluated(table, own, result.skipped))
    with warehouse.connect() as connection:
        record_run_step(
            connection,
            RunStep(
                run_id=run.run_id,
                asset=",".join(t.qualified_name for t in tables),
                partitions=len(own),
                raw_rows=result.raw_rows,
                rows_written=sum(
                    v.row_count
                    for vs in [*result.versions.values(), *result.held.values()]
                    for v in vs
                ),
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
