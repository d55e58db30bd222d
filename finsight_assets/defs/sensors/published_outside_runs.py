"""Partitions whose published rows changed outside a run (a held backfill published on
approval, a rollback, a discarded candidate): each tick asks one run of the report job
(`defs/report_outside_runs.py`) for the publish log's entries it has not reported yet."""

from __future__ import annotations

import dagster as dg

from finsight_assets.defs.report_outside_runs import ReportRange, report_published_outside_runs
from finsight_assets.defs.resources.local import WarehouseResource
from finsight_assets.defs.sensors.ticks import SENSOR_LOCK_ATTEMPTS, warehouse_sensor
from finsight_assets.lib.contract.run_tags import DAILY_PRIORITY, PRIORITY_TAG
from finsight_assets.lib.wap.publish_history import unreported_changes


def build_published_outside_runs() -> dg.SensorDefinition:
    @warehouse_sensor(
        "published_outside_runs",
        "Reports each partition whose published rows changed outside a run (a held "
        "backfill published on approval, a rollback, a discarded candidate) as that "
        "partition's latest materialization, with its own row count and its audits' "
        "verdicts, in a run of the report job.",
        job=report_published_outside_runs,
    )
    def published_outside_runs(context: dg.SensorEvaluationContext, warehouse: WarehouseResource):
        after = int(context.cursor or 0)
        with warehouse.connect(lock_attempts=SENSOR_LOCK_ATTEMPTS, read_only=True) as connection:
            changes, last = unreported_changes(connection, after)
        # The cursor moves over what is requested here, or over entries a later publish
        # already reported (nothing to ask).
        context.update_cursor(str(last))
        if not changes:
            return dg.SkipReason("no change")
        return dg.RunRequest(
            run_key=f"published-outside-runs-{after}-{last}",
            run_config=dg.RunConfig(
                ops={"report_changes_outside_runs": ReportRange(after=after, upto=last)}
            ),
            # Not a backfill run: off the backfill lane's limit, dequeued with the daily lane.
            tags={PRIORITY_TAG: DAILY_PRIORITY},
        )

    return published_outside_runs
