"""Peak resident memory of a backfill as the number of days grows (5, 15, 45 days).

The default is 100k rows a day so that `make bench` fits in 20 minutes on two cores (45 days at
1M rows a day alone take about 20 minutes here); `--rows 1000000` measures FinSight's shape.

Each size runs in a fresh process (Python plus its Spark JVM), materializing all days in one run;
the peak is the largest sum of resident memory over that process tree, sampled every 0.2 s.

    python benchmarks/bench_memory.py [--rows 100000] [--days 5,15,45]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from benchmarks.common import print_table, write_result
from finsight_assets.lib.synthetic import generate_raw

FIRST = date(2025, 1, 1)
CHILD = """
import sys
from datetime import date, timedelta
from pathlib import Path
from finsight_assets.defs.materialize import materialize_range
from finsight_assets.lib.settings import Settings
home, days = Path(sys.argv[1]), int(sys.argv[2])
first = date(2025, 1, 1)
settings = Settings(env="local", home=home, start_date=first)
outcomes = materialize_range(settings, first, first + timedelta(days=days - 1), days_per_run=days)
sys.exit(0 if all(o.success for o in outcomes) else 1)
"""


def tree_rss_bytes(root: int) -> int:
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
                parents[int(entry)] = int(fields[1])
            except (OSError, IndexError):
                continue
    tree, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent]
        tree.update(children)
        frontier.extend(children)
    total = 0
    for pid in tree:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            continue
    return total


def peak_of(days: int, lake: Path, root: Path) -> tuple[float, float]:
    home = root / f"days-{days}"
    home.mkdir()
    (home / "lake").symlink_to(lake)
    env = {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1"}
    started = time.monotonic()
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(home), str(days)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    peak = 0
    while child.poll() is None:
        peak = max(peak, tree_rss_bytes(child.pid))
        time.sleep(0.2)
    if child.returncode != 0:
        raise RuntimeError(f"the {days}-day run failed")
    return peak / 2**20, time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--days", default="5,15,45")
    args = parser.parse_args()
    sizes = [int(n) for n in args.days.split(",")]
    root = Path(tempfile.mkdtemp(prefix="finsight-bench-memory-"))
    try:
        lake = root / "lake"
        generate_raw(lake, FIRST, FIRST + timedelta(days=max(sizes) - 1), rows_per_day=args.rows)
        measured = {n: peak_of(n, lake, root) for n in sizes}
    finally:
        shutil.rmtree(root, ignore_errors=True)
    base = measured[sizes[0]][0]
    print_table(
        f"Peak resident memory (Python + Spark JVM), {args.rows:,} rows/day, one run per size",
        ["days", "raw rows", "peak MiB", "x smallest", "seconds"],
        [(n, n * args.rows, mib, mib / base, s) for n, (mib, s) in measured.items()],
    )
    write_result(
        "memory",
        {
            "rows_per_day": args.rows,
            "peak_mib": {n: m for n, (m, _) in measured.items()},
            "seconds": {n: s for n, (_, s) in measured.items()},
        },
    )


if __name__ == "__main__":
    main()
