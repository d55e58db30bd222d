"""Run monitoring for the embedded default: a run whose process is gone is failed.

Dagster's run monitoring detects a dead run worker only for container launchers; with the
default launcher on one machine a run killed with its daemon (kill -9, a crash, a reboot) stays
STARTED forever, and so does its backfill. Each run worker logs its process id when it starts;
this sensor fails a started run whose process no longer exists, so the backfill ends and
`finsight backfill retry` can recompute what that run did not publish.
"""

from __future__ import annotations

import dagster as dg

from finsight_assets.lib.engines.owners import process_alive

ORPHAN_INTERVAL_SECONDS = 30
RUN_PROCESS_STARTED = "Started process for run"


def run_process_id(instance: dg.DagsterInstance, run_id: str) -> int | None:
    """The process id the run's worker logged when it started (None: not started that way)."""
    for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT):
        event = entry.dagster_event
        if event is None or not (event.message or "").startswith(RUN_PROCESS_STARTED):
            continue
        pid = event.engine_event_data.metadata.get("pid")
        if pid is not None:
            return int(pid.value)
    return None


def build_orphaned_runs_sensor() -> dg.SensorDefinition:
    @dg.sensor(
        name="orphaned_runs",
        minimum_interval_seconds=ORPHAN_INTERVAL_SECONDS,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Fails a started run whose process is gone (killed with its daemon, or by "
        "a crash), so its backfill ends and the failed partitions can be retried.",
    )
    def orphaned_runs(context: dg.SensorEvaluationContext):
        failed = []
        for run in context.instance.get_runs(dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED])):
            pid = run_process_id(context.instance, run.run_id)
            if pid is None or process_alive(pid):
                continue
            context.instance.report_run_failed(
                run,
                message=f"the run's process ({pid}) is gone: killed or crashed. Nothing it had "
                "not published is published; the next run sweeps its staging; retry the "
                "backfill's failed partitions",
            )
            failed.append(run.run_id)
        return dg.SkipReason(f"failed orphaned runs {failed}" if failed else "no orphaned run")

    return orphaned_runs
