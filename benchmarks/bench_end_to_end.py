"""One business date end to end, as a user waits for it: `finsight materialize` of a generated
1M-row day in a fresh home with the default settings, against the plain DuckDB implementation of
the same six tables (`plain_duckdb.py`) and the interpreter with the definitions' imports, each
in its own process, taking turns, medians of repeats. `--warm-spark` first starts a Spark
Connect server per lane, as `make dev` does, for the Spark engine. Then where the command's time
goes, from its runs' event logs.

    python -m benchmarks.bench_end_to_end [--rows 1000000] [--repeats 3] [--warm-spark]
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from datetime import date
from pathlib import Path

import dagster as dg

from benchmarks.common import (
    arguments,
    cached_lake,
    interleaved_medians,
    linked_copy,
    print_table,
    scratch,
    timed,
    write_result,
)
from finsight_assets.lib.engines.spark_connect import servers
from finsight_assets.lib.settings import Settings

DAY = date(2025, 3, 4)
# `finsight materialize` may take at most this many times the plain DuckDB process.
TARGET_RATIO = 2.5


def environment(home: Path) -> dict[str, str]:
    return {
        **os.environ,
        "FINSIGHT_HOME": str(home),
        "FINSIGHT_START_DATE": DAY.isoformat(),
        "SPARK_LOCAL_IP": "127.0.0.1",
    }


def run(command: list[str], env: dict[str, str]) -> None:
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)


def fresh_home(lake: Path, root: Path, name: str) -> Path:
    home = root / name
    linked_copy(lake, home / "lake")
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
    parser = arguments(__doc__, rows=1_000_000)
    parser.add_argument(
        "--warm-spark", action="store_true", help="a warm Spark Connect server per lane first"
    )
    args = parser.parse_args()
    with scratch("e2e") as root:
        measure(root, args.rows, args.repeats, args.warm_spark)


def measure(root: Path, rows: int, repeats: int, warm_spark: bool) -> None:
    generated_s, lake = timed(lambda: cached_lake(DAY, DAY, rows))
    finsight = str(Path(sys.executable).with_name("finsight"))
    homes = iter(range(1000))
    profiles: list[dict[str, float]] = []
    lanes = servers(root / "spark") if warm_spark else {}
    urls = {lane: server.start() for lane, server in lanes.items()}

    def materialize() -> float:
        """The seconds of the command alone: its fresh home is made before the clock starts
        and the event logs are read after it stops."""
        home = fresh_home(lake, root, f"home-{next(homes)}")
        # Where a run finds its lane's server (spark_connect.py): these homes share one.
        for lane, url in urls.items():
            (home / "spark" / lane).mkdir(parents=True)
            (home / "spark" / lane / "url").write_text(url + "\n")
        day = DAY.isoformat()
        command = [finsight, "materialize", "--start", day, "--end", day]
        seconds, _ = timed(lambda: run(command, environment(home)))
        profiles.append(where_it_went(home))
        return seconds

    def plain() -> None:
        database = root / f"plain-{next(homes)}.duckdb"
        command = [sys.executable, "-m", "benchmarks.plain_duckdb", str(lake)]
        run([*command, DAY.isoformat(), str(database)], environment(root))

    def python_start() -> None:
        run([sys.executable, "-c", "import finsight_assets.defs.build"], environment(root))

    try:
        measured = interleaved_medians(
            {"ours": materialize, "theirs": plain, "imports": python_start}, repeats
        )
    finally:
        for server in lanes.values():
            server.stop()
    (ours, ours_samples), (theirs, theirs_samples) = measured["ours"], measured["theirs"]
    imports_s, _ = measured["imports"]
    how = "warm Spark per lane" if warm_spark else "default settings"
    print_table(
        f"One day of {rows:,} generated rows end to end (found or generated in "
        f"{generated_s:.1f} s), median of {repeats}, each in its own process",
        ["what", "seconds", "x plain DuckDB"],
        [
            (f"finsight materialize, {how}", ours, ours / theirs),
            ("plain DuckDB, six tables", theirs, 1.0),
            ("python + imports of the definitions", imports_s, imports_s / theirs),
        ],
    )
    breakdown = _medians(profiles)
    outside = ours - _in_runs(breakdown)
    print_table(
        "Where finsight materialize's time goes (median per part, from the runs' event logs)",
        ["part", "seconds"],
        [*breakdown.items(), ("outside the runs (start-up, instance, summary)", outside)],
    )
    ratio = ours / theirs
    met = "met" if ratio <= TARGET_RATIO else "NOT met"
    print(f"\ntarget: finsight materialize <= {TARGET_RATIO} x plain DuckDB; {ratio:.2f} x ({met})")
    write_result(
        "end_to_end",
        {
            "rows": rows,
            "repeats": repeats,
            "warm_spark": warm_spark,
            "seconds": {"materialize": ours_samples, "plain_duckdb": theirs_samples},
            "median_seconds": {
                "materialize": ours,
                "plain_duckdb": theirs,
                "python_imports": imports_s,
            },
            "ratio_to_plain_duckdb": ratio,
            "breakdown_median_seconds": {**breakdown, "outside the runs": outside},
        },
    )


def _medians(profiles: list[dict[str, float]]) -> dict[str, float]:
    names = list(dict.fromkeys(name for profile in profiles for name in profile))
    return {n: statistics.median(p.get(n, 0.0) for p in profiles) for n in names}


def _in_runs(breakdown: dict[str, float]) -> float:
    return sum(seconds for name, seconds in breakdown.items() if name.startswith("run "))


if __name__ == "__main__":
    main()
