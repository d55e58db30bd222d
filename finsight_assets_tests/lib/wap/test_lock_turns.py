"""The embedded default's one DuckDB file, contended by processes as runs of both lanes contend
for it: a waiting run waits its turn rather than fail, and the daily lane goes first."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from finsight_assets.lib.engines.duckdb_warehouse import DAILY_WAITING

# Opens the warehouse as a run of the lane given, notes when it got in, holds it a while.
CONTENDER = """
import sys, time
from pathlib import Path
from finsight_assets.lib.engines.duckdb_warehouse import duckdb_connector
path, lane, hold, log = Path(sys.argv[1]), sys.argv[2], float(sys.argv[3]), Path(sys.argv[4])
with duckdb_connector(path, lane=None if lane == "none" else lane)() as warehouse:
    with log.open("a") as out:
        out.write(f"{lane}\\n")
    print("in", flush=True)
    time.sleep(hold)
"""


def contender(path: Path, lane: str, hold: float, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", CONTENDER, str(path), lane, str(hold), str(log)],
        stdout=subprocess.PIPE,
        text=True,
    )


def test_a_waiting_daily_run_goes_before_a_backfill_run_that_waited_longer(tmp_path):
    path, log = tmp_path / "warehouse.duckdb", tmp_path / "order.log"
    holder = contender(path, "backfill", 12, log)
    assert holder.stdout.readline().strip() == "in"
    backfill = contender(path, "backfill", 1, log)
    time.sleep(1.5)
    daily = contender(path, "daily", 1, log)
    deadline = time.monotonic() + 10
    while not list(tmp_path.glob(f"warehouse.duckdb.{DAILY_WAITING}.*")):
        assert time.monotonic() < deadline, "the daily run never said it waits"
        time.sleep(0.1)
    assert holder.poll() is None, "the holder let go before both waited"
    for process in (holder, daily, backfill):
        assert process.wait(60) == 0
    assert log.read_text().split() == ["backfill", "daily", "backfill"]
    assert not list(tmp_path.glob(f"warehouse.duckdb.{DAILY_WAITING}.*"))


def test_a_killed_daily_run_does_not_keep_backfills_waiting(tmp_path):
    path, log = tmp_path / "warehouse.duckdb", tmp_path / "order.log"
    (tmp_path / f"warehouse.duckdb.{DAILY_WAITING}.p999999999").touch()
    backfill = contender(path, "backfill", 0, log)
    assert backfill.wait(30) == 0
    assert log.read_text().split() == ["backfill"]
