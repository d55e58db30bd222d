"""One business date end to end, as a user waits for it: `finsight materialize` of a generated
day in a fresh home, against the plain DuckDB implementation of the same six tables
(`plain_duckdb.py`) and a bare Spark session start, each in its own process, medians of repeats:
with a warm Spark Connect server per lane (as `make dev` runs it) and without (each run starts
Spark; `--cold`, left out of `make bench` for time). Then where the command's time goes, from
its runs' event logs.

    python -m benchmarks.bench_end_to_end [--rows 1000000] [--repeats 3] [--cold]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path

import dagster as dg

from benchmarks.common import median_seconds, print_table, timed, write_result
from finsight_assets.dev.synthetic import generate_raw
from finsight_assets.lib.engines.spark_connect import servers
from finsight_assets.lib.settings import Settings

DAY = date(2025, 3, 4)
TARGET_RATIO = 5.0

# A Spark session as `finsight materialize` starts one, and nothing else.
SPARK_START = """
from pyspark.sql import SparkSession
from finsight_assets.lib.engines.spark_config import LOCAL_SPARK_CONFIG
builder = SparkSession.builder
for key, value in LOCAL_SPARK_CONFIG.items():
    builder = builder.config(key, value)
builder.getOrCreate().range(1).count()
"""


def environment(home: Path) -> dict[str, str]:
    return {
        **os.environ,
        "FINSIGHT_HOME": str(home),
        "FINSIGHT_START_DATE": DAY.isoformat(),
        "SPARK_LOCAL_IP": "127.0.0.1",
    }


def run(command: list[str], env: dict[str, str]) -> None:
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)


def fresh_home(template: Path, root: Path, name: str) -> Path:
    home = root / name
    shutil.copytree(template / "lake", home / "lake")
    return home


def where_it_went(home: Path) -> dict[str, float]:
    """Seconds per run and per step of the materialize in `home`, from the event logs."""
    settings = Settings.from_env({"FINSIGHT_HOME": str(home)})
    parts: dict[str, float] = {}
    with dg.DagsterInstance.from_config(str(settings.dagster_home)) as instance:
        for record in instance.get_run_records():
            entries = instance.all_logs(record.dagster_run.run_id)
            job = record.dagster_run.job_name
            name = "materialize" if job.startswith("__") else job
            started: dict[str, float] = {}
            steps: dict[str, float] = {}
            for entry in entries:
                event = entry.dagster_event
                if event is None or entry.step_key is None:
                    continue
                if event.event_type_value == "STEP_START":
                    started[entry.step_key] = entry.timestamp
                elif event.event_type_value in ("STEP_SUCCESS", "STEP_FAILURE"):
                    steps[entry.step_key] = entry.timestamp - started[entry.step_key]
            stamps = [e.timestamp for e in entries]
            parts[f"run {name}, start to end"] = max(stamps) - min(stamps)
            parts[f"  {name}: outside its steps"] = max(stamps) - min(stamps) - sum(steps.values())
            parts.update({f"  {name}: step {key}": s for key, s in sorted(steps.items())})
    return parts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--cold", action="store_true", help="also without the servers (each run starts Spark)"
    )
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="finsight-bench-e2e-"))
    try:
        measure(root, args.rows, args.repeats, args.cold)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def measure(root: Path, rows: int, repeats: int, with_cold: bool) -> None:
    template = root / "template"
    generated_s, _ = timed(
        lambda: generate_raw(template / "lake", DAY, DAY, rows_per_day=rows, seed=7)
    )
    finsight = str(Path(sys.executable).with_name("finsight"))
    homes = iter(range(1000))
    profiles: dict[str, list[dict[str, float]]] = {"cold": [], "warm": []}
    lanes = servers(root / "spark")
    urls = {lane: server.start() for lane, server in lanes.items()}

    def materialize(kind: str) -> None:
        home = fresh_home(template, root, f"home-{next(homes)}")
        if kind == "warm":
            # Where a run finds its lane's server (spark_connect.py): these homes share one.
            for lane, url in urls.items():
                (home / "spark" / lane).mkdir(parents=True)
                (home / "spark" / lane / "url").write_text(url + "\n")
        day = DAY.isoformat()
        run([finsight, "materialize", "--start", day, "--end", day], environment(home))
        profiles[kind].append(where_it_went(home))

    def plain() -> None:
        database = root / f"plain-{next(homes)}.duckdb"
        command = [sys.executable, "-m", "benchmarks.plain_duckdb", str(template / "lake")]
        run([*command, DAY.isoformat(), str(database)], environment(root))

    def spark_start() -> None:
        run([sys.executable, "-c", SPARK_START], environment(root))

    def python_start() -> None:
        run([sys.executable, "-c", "import finsight_assets.defs.build"], environment(root))

    try:
        warm, warm_samples = median_seconds(lambda: materialize("warm"), repeats)
        cold, cold_samples = (
            median_seconds(lambda: materialize("cold"), repeats) if with_cold else (None, [])
        )
    finally:
        for server in lanes.values():
            server.stop()
    theirs, theirs_samples = median_seconds(plain, repeats)
    spark_s, _ = median_seconds(spark_start, repeats)
    imports_s, _ = median_seconds(python_start, repeats)
    print_table(
        f"One day of {rows:,} generated rows end to end (generated in {generated_s:.1f} s), "
        f"median of {repeats}, each in its own process",
        ["what", "seconds", "x plain DuckDB"],
        [
            ("finsight materialize, warm Spark per lane", warm, warm / theirs),
            ("finsight materialize, Spark started in the run", cold, cold and cold / theirs),
            ("plain DuckDB, six tables", theirs, 1.0),
            ("a bare local Spark session start", spark_s, spark_s / theirs),
            ("python + imports of the definitions", imports_s, imports_s / theirs),
        ],
    )
    breakdown = {kind: _medians(found) for kind, found in profiles.items()}
    names = list(dict.fromkeys([*breakdown["warm"], *breakdown["cold"]]))
    print_table(
        "Where finsight materialize's time goes (median per part, from the runs' event logs)",
        ["part", "warm s", "cold s"],
        [
            *((n, breakdown["warm"].get(n), breakdown["cold"].get(n)) for n in names),
            (
                "outside the runs (start-up, instance, summary)",
                warm - _in_runs(breakdown["warm"]),
                cold and cold - _in_runs(breakdown["cold"]),
            ),
        ],
    )
    ratio = warm / theirs
    met = "met" if ratio <= TARGET_RATIO else "NOT met"
    print(f"\ntarget: finsight materialize <= {TARGET_RATIO} x plain DuckDB; {ratio:.1f} x ({met})")
    write_result(
        "end_to_end",
        {
            "rows": rows,
            "repeats": repeats,
            "seconds": {
                "materialize_warm": warm_samples,
                "materialize_cold": cold_samples,
                "plain_duckdb": theirs_samples,
            },
            "median_seconds": {
                "materialize_warm": warm,
                "materialize_cold": cold,
                "plain_duckdb": theirs,
                "spark_session_start": spark_s,
                "python_imports": imports_s,
            },
            "ratio_to_plain_duckdb": ratio,
            "breakdown_median_seconds": breakdown,
        },
    )


def _medians(profiles: list[dict[str, float]]) -> dict[str, float]:
    names = list(dict.fromkeys(name for profile in profiles for name in profile))
    return {n: statistics.median(p.get(n, 0.0) for p in profiles) for n in names}


def _in_runs(breakdown: dict[str, float]) -> float:
    return sum(seconds for name, seconds in breakdown.items() if name.startswith("run "))


if __name__ == "__main__":
    main()
