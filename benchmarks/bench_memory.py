"""Peak resident memory of a backfill as the number of days grows (5 and 45 days of 1M rows).

Target: the 45-day peak within TARGET_RATIO of the 5-day one (`make bench` runs it last; `make
bench-memory` alone). The generated days are kept under benchmarks/data.

Each size runs in a fresh process (Python plus its Spark JVM), materializing all days in one run,
sampled every 0.2 s. Python and the JVM are reported apart: Python's peak shows whether any step
holds a batch's rows in Python; the JVM's heap grows towards its cap (spark.driver.memory) as
the garbage collector sees fit, whatever the data needs.

    python -m benchmarks.bench_memory [--rows 1000000] [--days 5,45]
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import psutil

from benchmarks.common import (
    arguments,
    cached_lake,
    linked_copy,
    print_table,
    scratch,
    write_result,
)
from finsight_assets.lib.engines.duckdb_warehouse import DUCKDB_CONFIG
from finsight_assets.lib.engines.spark_config import LOCAL_SPARK_CONFIG

FIRST = date(2025, 1, 1)
TARGET_RATIO = 1.15
CHILD = """
import sys
from datetime import date, timedelta
from pathlib import Path
from finsight_assets.cli.materialize import materialize_range
from finsight_assets.lib.settings import Settings
home, days = Path(sys.argv[1]), int(sys.argv[2])
first = date(2025, 1, 1)
settings = Settings(env="local", home=home, start_date=first)
outcomes = materialize_range(settings, first, first + timedelta(days=days - 1), days_per_run=days)
sys.exit(0 if all(o.success for o in outcomes) else 1)
"""


@dataclass
class Peaks:
    """The largest resident memory seen, in bytes: the whole tree, the Python process, the JVM."""

    total: int = 0
    python: int = 0
    jvm: int = 0

    def sample(self, process: psutil.Process, children: list[psutil.Process]) -> None:
        python = _rss(process)
        jvm = sum(_rss(child) for child in children)
        self.total = max(self.total, python + jvm)
        self.python = max(self.python, python)
        self.jvm = max(self.jvm, jvm)


def _rss(process: psutil.Process) -> int:
    try:
        return process.memory_info().rss
    except psutil.NoSuchProcess:
        return 0


def _children(process: psutil.Process) -> list[psutil.Process]:
    try:
        return process.children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def peaks_of(days: int, lake: Path, root: Path) -> tuple[Peaks, float]:
    home = root / f"days-{days}"
    linked_copy(lake, home / "lake")
    env = {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1"}
    started = time.monotonic()
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(home), str(days)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    peaks, process = Peaks(), psutil.Process(child.pid)
    children, listed_at = [], 0.0
    while child.poll() is None:
        # Listing a process tree reads all of /proc: every 2 s, not at every sample.
        if time.monotonic() - listed_at > 2:
            children, listed_at = _children(process), time.monotonic()
        peaks.sample(process, children)
        time.sleep(0.2)
    if child.returncode != 0:
        raise RuntimeError(f"the {days}-day run failed")
    return peaks, time.monotonic() - started


def main() -> None:
    parser = arguments(__doc__, rows=1_000_000, repeats=None)
    parser.add_argument("--days", default="5,45")
    args = parser.parse_args()
    sizes = [int(n) for n in args.days.split(",")]
    with scratch("memory") as root:
        lake = cached_lake(FIRST, FIRST + timedelta(days=max(sizes) - 1), args.rows)
        measured = {n: peaks_of(n, lake, root) for n in sizes}
    base = measured[sizes[0]][0]
    mib = 2**20
    print_table(
        f"Peak resident memory of one run per size, {args.rows:,} rows/day (MiB)",
        ["days", "raw rows", "Python+JVM", "x smallest", "Python", "x smallest", "JVM", "s"],
        [
            (
                n,
                n * args.rows,
                peaks.total / mib,
                peaks.total / base.total,
                peaks.python / mib,
                peaks.python / base.python,
                peaks.jvm / mib,
                s,
            )
            for n, (peaks, s) in measured.items()
        ],
    )
    largest = measured[sizes[-1]][0]
    ratio = largest.total / base.total
    print(
        f"\ntarget: {sizes[-1]} days within {TARGET_RATIO} x the peak of {sizes[0]} days: "
        f"{ratio:.2f} x ({'met' if ratio <= TARGET_RATIO else 'NOT met'})"
    )
    write_result(
        "memory",
        {
            "rows_per_day": args.rows,
            "peak_mib": {n: peaks.total / mib for n, (peaks, _) in measured.items()},
            "python_peak_mib": {n: peaks.python / mib for n, (peaks, _) in measured.items()},
            "jvm_peak_mib": {n: peaks.jvm / mib for n, (peaks, _) in measured.items()},
            "spark_driver_memory": LOCAL_SPARK_CONFIG["spark.driver.memory"],
            "duckdb_memory_limit": DUCKDB_CONFIG["memory_limit"],
            "seconds": {n: s for n, (_, s) in measured.items()},
        },
    )


if __name__ == "__main__":
    main()
