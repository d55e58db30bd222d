"""A small job that reports, inside a real run, each day whose published rows changed outside
a run (a held backfill published on approval, a rollback, a discarded candidate): the day's
materialization with its own figures, its recorded verdicts and `live`, all carrying this
run's id (run-less evaluations collide in Dagster's storage on a day's second report)."""

# No `from __future__ import annotations` here: Dagster reads the op's config annotation.
from collections.abc import Sequence

import dagster as dg

from finsight_assets.defs.checks import recorded_evaluations
from finsight_assets.defs.day_events import (
    DayState,
    day_materialization,
    live_evaluation,
    published_state,
)
from finsight_assets.defs.keys import asset_key
from finsight_assets.defs.resources.local import LakeResource, WarehouseResource
from finsight_assets.defs.run_context import run_lane
from finsight_assets.lib.backfills.store import ManifestStore
from finsight_assets.lib.contract.run_tags import BACKFILL_LANE, DAILY_LANE
from finsight_assets.lib.layers.raw_files import data_version
from finsight_assets.lib.tables.registry import TABLES, TABLES_BY_NAME
from finsight_assets.lib.wap.check_records import checks_of_runs
from finsight_assets.lib.wap.model import CheckRecord, PartitionVersion
from finsight_assets.lib.wap.publish_history import UnreportedChange, unreported_changes
from finsight_assets.lib.wap.versions import get_versions

REPORT_JOB = "report_published_outside_runs"
# The tables in dependency order (silver before the gold computed from it).
_ORDER = {table.qualified_name: i for i, table in enumerate(TABLES)}


class ReportRange(dg.Config):
    """The publish log's entries to report: sequence numbers after `after`, up to `upto`."""

    after: int
    upto: int


def _lane(instance: dg.DagsterInstance, version: PartitionVersion) -> str:
    run = instance.get_run_by_id(version.run_id)
    if run is not None:
        return run_lane(dict(run.tags))
    return BACKFILL_LANE if version.manifest_id else DAILY_LANE


def _approvers(warehouse: WarehouseResource, manifest_id: str | None) -> list[str]:
    if not manifest_id:
        return []
    store = ManifestStore(warehouse.connect)
    if not store.exists(manifest_id):
        return []
    return [a["by"] for a in store.approvals_given(manifest_id, None)]


def _by(change: UnreportedChange, version: PartitionVersion, approvers: Sequence[str]) -> str:
    manifest = change.manifest_id or version.manifest_id or "its backfill"
    if change.action == "publish":
        names = f" by {', '.join(approvers)}" if approvers else ""
        return f"published on approval of {manifest}{names}"
    if change.action == "rollback":
        return "restored by a rollback"
    return f"still the published version; the candidate of {manifest} was discarded"


def _latest_changes(changes: Sequence[UnreportedChange], upto: int) -> list[UnreportedChange]:
    """The last change of each day in the range (a day is reported once per report run), in
    dependency order, then by date: each day's input pointers are its inputs' new events."""
    last: dict[tuple[str, object], UnreportedChange] = {}
    for change in changes:
        if change.seq <= upto:
            last[(change.table_name, change.business_date)] = change
    return sorted(
        last.values(), key=lambda c: (_ORDER.get(c.table_name, len(_ORDER)), c.business_date)
    )


def report_change(
    context: dg.OpExecutionContext,
    change: UnreportedChange,
    version: PartitionVersion | None,
    state: DayState | None,
    records: Sequence[CheckRecord],
    raw_version,
) -> None:
    """One day's change: its materialization, then its recorded verdicts and `live` judging
    it; a discard with nothing live is only `live` failing."""
    table = TABLES_BY_NAME[change.table_name]
    if version is None or state is None:
        context.log_event(
            live_evaluation(
                table, change.business_date, False, "discarded: nothing is live for this day", None
            )
        )
        return
    context.log_event(day_materialization(context.instance, table, state, raw_version))
    (judged,) = context.instance.fetch_materializations(
        dg.AssetRecordsFilter(
            asset_key=asset_key(table), asset_partitions=[change.business_date.isoformat()]
        ),
        limit=1,
    ).records
    mine = [
        r
        for r in records
        if r.run_id == version.run_id
        and r.table_name == change.table_name
        and r.business_date == change.business_date
    ]
    for evaluation in recorded_evaluations(table, mine, judged):
        context.log_event(evaluation)
    context.log_event(
        live_evaluation(table, change.business_date, True, state.live_description, judged)
    )


@dg.op(name="report_changes_outside_runs")
def _report(
    context: dg.OpExecutionContext,
    config: ReportRange,
    warehouse: WarehouseResource,
    lake: LakeResource,
) -> None:
    """Report each day changed outside a run in the configured range of the publish log."""
    with warehouse.connect(read_only=True) as connection:
        changes, _ = unreported_changes(connection, config.after, limit=config.upto - config.after)
        changes = _latest_changes(changes, config.upto)
        versions = {
            v.version_id: v for v in get_versions(connection, [c.version_id for c in changes])
        }
        records = checks_of_runs(connection, {v.run_id for v in versions.values()})
    raw = lake.get_lake()

    def raw_version(table: str, day) -> str:
        return data_version(raw.raw_files(table, day))

    approvers: dict[str | None, list[str]] = {}
    for change in changes:
        version = versions.get(change.version_id)
        state = None
        if version is not None:
            if version.manifest_id not in approvers:
                approvers[version.manifest_id] = _approvers(warehouse, version.manifest_id)
            by = _by(change, version, approvers[version.manifest_id])
            state = published_state(version, _lane(context.instance, version), by)
        report_change(context, change, version, state, records, raw_version)
    context.log.info(f"reported {len(changes)} day(s) changed outside runs")


@dg.job(
    name=REPORT_JOB,
    description="Reports each day whose published rows changed outside a run (a held backfill "
    "published on approval, a rollback, a discarded candidate) with its own figures and "
    "verdicts.",
)
def report_published_outside_runs() -> None:
    _report()
