"""On one machine a backfill run yields the cores to a daily run: the warehouse's set-up in a run
lowers the run worker's CPU priority by its lane (each probe in its own process, so the test's
own priority stays as it is)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from finsight_assets.lib.contract.run_tags import (
    BACKFILL_ID_TAG,
    BACKFILL_LANE,
    DAILY_LANE,
    LANE_TAG,
)

# Sets up the embedded warehouse twice for one run, as a run worker sets up its resources, and
# prints the worker's niceness before and after each.
PROBE = """
import json, os, sys
import dagster as dg
from finsight_assets.defs.resources.local import DuckDBWarehouseResource
run = dg.DagsterRun(job_name="probe", run_id="probe", tags=json.loads(sys.argv[2]))
seen = [os.getpriority(os.PRIO_PROCESS, 0)]
for _ in range(2):
    resource = DuckDBWarehouseResource(database=sys.argv[1])
    with dg.build_resources({"warehouse": resource}, dagster_run=run):
        seen.append(os.getpriority(os.PRIO_PROCESS, 0))
print(json.dumps(seen))
"""


def niceness_seen(tmp_path, tags: dict[str, str]) -> list[int]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(tmp_path / "warehouse.duckdb"), json.dumps(tags)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.splitlines()[-1])


@pytest.mark.parametrize(
    "tags",
    [{LANE_TAG: BACKFILL_LANE}, {BACKFILL_ID_TAG: "abcdefgh"}],
    ids=["cli backfill", "ui backfill"],
)
def test_a_backfill_run_yields_the_cores_once(tmp_path, tags):
    before, first, second = niceness_seen(tmp_path, tags)
    assert first == second == max(before, 10)


def test_a_daily_run_keeps_its_priority(tmp_path):
    before, first, second = niceness_seen(tmp_path, {LANE_TAG: DAILY_LANE})
    assert first == second == before
