"""Turn what a lib computation did into Dagster events: materializations, check evaluations,
failure."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from datetime import date
from typing import Any

import dagster as dg

from finsight_assets.defs.checks import check_evaluations, not_evaluated
from finsight_assets.defs.day_events import (
    HELD,
    PUBLISHED,
    DayState,
    RawVersion,
    day_materializations,
    held_state,
    live_evaluation,
    published_state,
)
from finsight_assets.defs.keys import asset_key, key_of
from finsight_assets.defs.resources.local import WarehouseResource
from finsight_assets.defs.run_context import business_dates, run_lane
from finsight_assets.lib.contract.tables import TableSpec
from finsight_assets.lib.tables.registry import UPSTREAM
from finsight_assets.lib.wap.estimates import record_run_step
from finsight_assets.lib.wap.model import (
    AuditFailed,
    LayerResult,
    PartitionVersion,
    RunInfo,
    RunStep,
)
from finsight_assets.lib.wap.versions import current_versions, row_counts


def _step_metadata(
    versions: Sequence[PartitionVersion], held: Sequence[PartitionVersion], run: RunInfo, lane: str
) -> dict[str, Any]:
    """What the step did over its whole range. Dagster gives every partition of a range output
    the same metadata; each day's own materialization follows it (`defs/day_events.py`)."""
    metadata: dict[str, Any] = {
        "partitions_published": len(versions),
        "partitions_held": len(held),
        "mode": run.mode,
        "lane": lane,
        "state": HELD if held else PUBLISHED if versions else "nothing published",
        "published": bool(versions) and not held,
    }
    if run.manifest_id:
        metadata["manifest_id"] = run.manifest_id
    return metadata


def _day_states(
    warehouse: WarehouseResource,
    table: TableSpec,
    versions: Sequence[PartitionVersion],
    held: Sequence[PartitionVersion],
    run: RunInfo,
    lane: str,
) -> list[DayState]:
    """Each day the step published or held, as its materialization and `live` verdict say."""
    live: dict[date, tuple[str, int]] = {}
    if held:
        with warehouse.connect() as connection:
            current = current_versions(
                connection, table.qualified_name, [v.business_date for v in held]
            )
            rows = row_counts(connection, current.values())
        live = {d: (v, rows.get(v, 0)) for d, v in current.items()}
    # In date order: a balance day's input pointer is its previous day's event just logged.
    return sorted(
        [
            *(published_state(v, lane, f"published by run {run.run_id}") for v in versions),
            *(held_state(v, lane, live.get(v.business_date)) for v in held),
        ],
        key=lambda d: d.version.business_date,
    )


def _needed_downstream(context: dg.AssetExecutionContext, table: TableSpec) -> bool:
    """Whether a step of this run waits for the table's output (a table computed from it is
    selected in the run too): only then is the step output logged beside each day's own."""
    selection = context.run.asset_selection
    if not selection:
        # A run of a whole job (`dg.materialize` of a selection too) names no assets.
        return True
    children = {
        key_of(name) for name, parents in UPSTREAM.items() if table.qualified_name in parents
    }
    return bool(children & set(selection))


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
    raw_version: RawVersion | None = None,
) -> Iterator[dg.MaterializeResult | dg.AssetMaterialization]:
    """Run a write-audit-publish computation and report it; raise if anything was not published.

    Every day published or held is its own materialization (`defs/day_events.py`: rows,
    version, lane, mode, manifest, state, data versions; `raw_version` hashes a raw input day)
    with its `live` verdict, and every audit's verdict on every audited day is that
    partition's check evaluation, tied to the materialization it judged (`defs/checks.py`).
    A blocking audit failure publishes nothing; raw partitions that broke the contract fail
    the step after the other partitions are published. A table published with a selected one
    but not selected itself (the UI can pick one of silver's pair) is reported the same way.
    """
    started = time.perf_counter()
    own = business_dates(context)
    try:
        result = compute()
    except AuditFailed as error:
        for table in tables:
            _log(context, check_evaluations(table, error.audits.get(table.qualified_name, []), own))
        raise dg.Failure(description=str(error)) from error
    lane = run_lane(dict(context.run.tags))
    for table in tables:
        held = [v for v in result.held.get(table.qualified_name, []) if v.business_date in own]
        versions = result.versions.get(table.qualified_name, [])
        # A balance chain's later days it rolled forward to changed too: each is reported as
        # that day's latest materialization (no later run of the backfill targets them).
        reported = versions if not held else [v for v in versions if v.business_date in own]
        days = _day_states(warehouse, table, reported, held, run, lane)
        covered = {d.version.business_date for d in days}
        if (
            asset_key(table) in context.selected_asset_keys
            and not result.failed
            and (_needed_downstream(context, table) or not set(own) <= covered)
        ):
            # The step's output: a later step of the run waits for it, or a day has no
            # materialization of its own (the asset backfill counts a day materialized).
            yield dg.MaterializeResult(
                asset_key=asset_key(table), metadata=_step_metadata(versions, held, run, lane)
            )
        yield from day_materializations(context.instance, table, days, raw_version)
        audited = sorted((set(own) - set(result.failed)) | set(result.withheld))
        judged = _this_runs_materializations(context, table, audited)
        audits = result.audits.get(table.qualified_name, [])
        _log(context, check_evaluations(table, audits, audited, judged))
        mine = _this_runs_materializations(context, table, [d.version.business_date for d in days])
        _log(
            context,
            [
                live_evaluation(
                    table,
                    d.version.business_date,
                    d.live,
                    d.live_description,
                    mine.get(d.version.business_date),
                )
                for d in days
            ],
        )
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
