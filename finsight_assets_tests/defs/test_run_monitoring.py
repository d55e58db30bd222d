"""A started run whose process is gone is failed by the orphaned_runs sensor; a live one is not."""

from __future__ import annotations

import os
import subprocess
import sys

import dagster as dg
from dagster._core.events import EngineEventData

from finsight_assets.defs.sensors.orphaned_runs import (
    RUN_PROCESS_STARTED,
    build_orphaned_runs_sensor,
)


@dg.op
def noop() -> None:
    pass


@dg.job
def some_job() -> None:
    noop()


def started_run(instance: dg.DagsterInstance, pid: int) -> str:
    """A run marked started by a worker of process `pid`, as a run worker logs it."""
    run = instance.create_run_for_job(some_job)
    instance.report_dagster_event(
        dg.DagsterEvent(event_type_value="PIPELINE_START", job_name=run.job_name), run.run_id
    )
    instance.report_engine_event(
        f"{RUN_PROCESS_STARTED} (pid: {pid}).", run, EngineEventData.in_process(pid)
    )
    return run.run_id


def test_a_started_run_whose_process_is_gone_is_failed():
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    with dg.instance_for_test() as instance:
        orphan = started_run(instance, gone.pid)
        alive = started_run(instance, os.getpid())
        sensor = build_orphaned_runs_sensor()
        result = sensor(dg.build_sensor_context(instance=instance))
        assert orphan in result.skip_message
        assert instance.get_run_by_id(orphan).status == dg.DagsterRunStatus.FAILURE
        assert instance.get_run_by_id(alive).status == dg.DagsterRunStatus.STARTED
