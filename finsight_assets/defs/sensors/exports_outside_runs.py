"""Partner files written outside a run (an approved held publish, a rollback), reported as the
export days' latest materializations, so the UI shows what the partner holds."""

from __future__ import annotations

import dagster as dg

from finsight_assets.defs.exports.provenance import export_day
from finsight_assets.defs.resources.local import WarehouseResource
from finsight_assets.defs.sensors.ticks import SENSOR_LOCK_ATTEMPTS, warehouse_sensor
from finsight_assets.lib.backfills.exports_written import ExportsWritten, exports_written_after
from finsight_assets.lib.layers.exports import partner_export_day


def build_exports_outside_runs() -> dg.SensorDefinition:
    @warehouse_sensor(
        "exports_outside_runs",
        "Reports each partner file written outside a run (an approved held publish, a "
        "rollback) as that export day's latest materialization, naming the manifest.",
    )
    def exports_outside_runs(context: dg.SensorEvaluationContext, warehouse: WarehouseResource):
        after = int(context.cursor or 0)
        with warehouse.connect(lock_attempts=SENSOR_LOCK_ATTEMPTS, read_only=True) as connection:
            written, last = exports_written_after(connection, after)
        for event in written:
            report_exports(context.instance, event)
        context.update_cursor(str(last))
        files = sum(len(e.files) for e in written)
        return dg.SkipReason(f"reported {files} partner file(s)" if files else "no file written")

    return exports_outside_runs


def report_exports(instance: dg.DagsterInstance, written: ExportsWritten) -> None:
    """Each file of one event as its day's materialization of the export, with its provenance."""
    for uri in written.files:
        instance.report_runless_asset_event(
            export_day(
                instance,
                partner_export_day(uri),
                {
                    "files": dg.MetadataValue.json([uri]),
                    "suppressed": False,
                    "manifest_id": written.manifest_id,
                },
                written=True,
                description=written.why,
            )
        )
