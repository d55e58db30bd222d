"""Partitions whose published rows changed outside a run (a held backfill published on
approval, a rollback), reported as their latest materializations with their audits' verdicts."""

from __future__ import annotations

import dagster as dg
import sqlalchemy.exc

from finsight_assets.defs.checks import recorded_evaluations
from finsight_assets.defs.keys import asset_key
from finsight_assets.defs.resources.local import WarehouseResource
from finsight_assets.defs.sensors.ticks import SENSOR_LOCK_ATTEMPTS, warehouse_sensor
from finsight_assets.lib.tables.registry import TABLES_BY_NAME
from finsight_assets.lib.wap.check_records import checks_of_runs
from finsight_assets.lib.wap.model import CheckRecord
from finsight_assets.lib.wap.publish_history import UnreportedChange, unreported_changes

CHANGE_DESCRIPTIONS = {
    "publish": "held backfill version published on approval",
    "rollback": "restored by a rollback",
}


def build_published_outside_runs() -> dg.SensorDefinition:
    @warehouse_sensor(
        "published_outside_runs",
        "Reports each partition whose published rows changed outside a run (a held "
        "backfill published on approval, a rollback) as that partition's latest "
        "materialization, with its own row count and its audits' verdicts.",
    )
    def published_outside_runs(context: dg.SensorEvaluationContext, warehouse: WarehouseResource):
        after = int(context.cursor or 0)
        with warehouse.connect(lock_attempts=SENSOR_LOCK_ATTEMPTS, read_only=True) as connection:
            changes, last = unreported_changes(connection, after)
            records = checks_of_runs(connection, {c.run_id for c in changes})
        for change in changes:
            report_change(context.instance, change, records, context.log)
        context.update_cursor(str(last))
        return dg.SkipReason(f"reported {len(changes)} change(s)" if changes else "no change")

    return published_outside_runs


def report_change(
    instance: dg.DagsterInstance,
    change: UnreportedChange,
    records: list[CheckRecord],
    log,
) -> None:
    """One partition's change as its latest materialization (its audits' verdicts in its
    metadata), then those verdicts as check evaluations judging it."""
    table = TABLES_BY_NAME[change.table_name]
    partition = change.business_date.isoformat()
    mine = [
        r
        for r in records
        if r.run_id == change.run_id
        and r.table_name == change.table_name
        and r.business_date == change.business_date
    ]
    instance.report_runless_asset_event(
        dg.AssetMaterialization(
            asset_key=asset_key(table),
            partition=partition,
            description=CHANGE_DESCRIPTIONS[change.action],
            metadata={
                "dagster/row_count": change.row_count,
                "version_id": change.version_id,
                "computed_by_run": change.run_id,
                "checks": dg.MetadataValue.json(
                    {r.check_name: "passed" if r.passed else "failed" for r in mine}
                ),
            },
        )
    )
    judged = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=asset_key(table), asset_partitions=[partition]), limit=1
    ).records[0]
    for evaluation in recorded_evaluations(table, mine, judged):
        try:
            instance.report_runless_asset_event(evaluation)
        except sqlalchemy.exc.IntegrityError:
            # Dagster keeps one run-less evaluation per check and partition; the verdict is in
            # the materialization's metadata and in audit.check_results.
            log.warning(
                f"{change.table_name} {partition} {evaluation.check_name}: Dagster already "
                "holds a run-less verdict for this partition; this one is in the metadata"
            )
