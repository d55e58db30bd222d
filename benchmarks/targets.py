"""Every performance target of issue 25, met or not, from the result files the benchmarks wrote:
the last thing `make bench` prints. A miss says by how much and, from the same result, why.
A target whose benchmark has not run reads "not measured".

    python -m benchmarks.targets
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks import (
    bench_daily_lane,
    bench_end_to_end,
    bench_layers,
    bench_memory,
    bench_orchestration,
    bench_spark_job,
)
from benchmarks.common import RESULTS, print_table

Result = dict[str, Any]
# Figures that must equal their limit are compared at this precision (two decimals).
EQUAL_WITHIN = 0.005


@dataclass(frozen=True)
class Target:
    """One target: what it asks, the result file it is read from, the measured figure, the
    limit, how the figure must compare with it ("at most", "at least", "equal"), the unit, the
    rows a day it was measured at, and what the result says about where the figure comes from."""

    what: str
    result: str
    figure: Callable[[Result], float]
    limit: float
    unit: str
    compare: str = "at most"
    size: Callable[[Result], int] = lambda r: r["rows_per_day"]
    why: Callable[[Result], str] = lambda r: ""
    # Printed beneath the table met or not (the figure needs its context).
    always_explained: bool = False

    def met(self, figure: float) -> bool:
        if self.compare == "at least":
            return figure >= self.limit
        if self.compare == "equal":
            return abs(figure - self.limit) < EQUAL_WITHIN
        return figure <= self.limit


def _fmt(value: float, unit: str) -> str:
    return f"{value:,.0f} {unit}" if abs(value) >= 1000 else f"{value:.2f} {unit}"


def _largest(parts: dict[str, float], count: int = 3, unit: str = "s") -> str:
    top = sorted(parts.items(), key=lambda item: -item[1])[:count]
    digits = 1 if unit == "s" else 0
    return "; ".join(f"{name.strip()} {value:,.{digits}f} {unit}" for name, value in top)


def _memory_ratio(memory: Result) -> float:
    peaks = {int(days): mib for days, mib in memory["peak_mib"].items()}
    return peaks[max(peaks)] / peaks[min(peaks)]


def _memory_why(memory: Result) -> str:
    days = str(max(int(d) for d in memory["peak_mib"]))
    python, jvm = memory["python_peak_mib"][days], memory["jvm_peak_mib"][days]
    return f"{days} days: Python {python:,.0f} MiB, JVM {jvm:,.0f} MiB"


def _end_to_end_why(r: Result) -> str:
    parts = r.get("breakdown_median_seconds", {})
    return "largest parts: " + _largest(parts) if parts else ""


def _batched_why(batched: Result, pure: float) -> str:
    why = f"{batched['runs']} runs, {batched['wall_seconds'] - pure:.0f} s beyond the compute"
    t = batched.get("timeline")
    if not t:
        return why
    return (
        f"{why}: {t['until_first_run_seconds']:.0f} s until the first run and "
        f"{t['between_runs_seconds']:.0f} s with no run (the backfill daemon looks every 30 s), "
        f"and the runs' workers {sum(t['worker_start_seconds']):.0f} s starting up "
        f"and {sum(t['running_seconds']):.0f} s running in all"
    )


def _warehouse(r: Result) -> Result:
    return r["warehouse"]


def _layers_why(r: Result) -> str:
    statements = _largest({k: v["seconds"] for k, v in _warehouse(r)["by_kind"].items()})
    why = f"warehouse statements (probed run): {statements}"
    if "row_hash_pass_seconds" in r:
        hashing = r["row_hash_pass_seconds"]
        why += (
            f"; of the silver + gold seconds, {hashing:.2f} s hash every published row once, "
            "at stage (the MD5 row hash the checksums keep)"
        )
    return why


TARGETS = (
    Target(
        "finsight materialize of a 1M-row day / plain DuckDB (both processes)",
        "end_to_end",
        lambda r: r["ratio_to_plain_duckdb"],
        bench_end_to_end.TARGET_RATIO,
        "x",
        size=lambda r: r["rows"],
        why=_end_to_end_why,
    ),
    Target(
        "silver + gold / plain DuckDB, same day",
        "layers",
        lambda r: r["ratio_silver_gold_to_plain_duckdb"],
        bench_layers.TARGET_RATIO,
        "x",
        size=lambda r: r["raw_rows"],
        why=_layers_why,
    ),
    Target(
        "Spark silver job alone, raw rows/s per core",
        "spark_job",
        lambda r: r["rows_per_second_per_core"],
        bench_spark_job.TARGET_ROWS_PER_SECOND_PER_CORE,
        "rows/s",
        compare="at least",
        size=lambda r: r["raw_rows"],
        why=lambda r: f"on {r['spark_cores']} cores: " + _largest(r["median_seconds"]),
    ),
    Target(
        "staged rows fetched into Python per published row",
        "layers",
        lambda r: _warehouse(r)["staged_rows_fetched_per_published_row"],
        bench_layers.TARGET_STAGED_ROWS_FETCHED,
        "",
        compare="equal",
        size=lambda r: r["raw_rows"],
        why=lambda r: (
            f"{_warehouse(r)['staged_rows_fetched']:,} rows: "
            + "; ".join(
                f"{s['rows']:,} by {s['sql'][:70]}" for s in _warehouse(r).get("top_fetching", [])
            )
        ),
    ),
    Target(
        "rows written per published row",
        "layers",
        lambda r: _warehouse(r)["rows_written_per_published_row"],
        bench_layers.TARGET_ROWS_WRITTEN,
        "",
        compare="equal",
        size=lambda r: r["raw_rows"],
        why=lambda r: "written: " + _largest(_warehouse(r)["rows_written_by_table"], 4, "rows"),
    ),
    Target(
        "batched 45-day backfill / its pure compute",
        "orchestration",
        lambda r: r["batched"]["wall_seconds"] / r["pure_compute"]["step_seconds"],
        bench_orchestration.TARGET_RATIO,
        "x",
        why=lambda r: _batched_why(r["batched"], r["pure_compute"]["step_seconds"]),
    ),
    Target(
        "daily run started while a 60-day backfill fills its lane",
        "daily_lane",
        lambda r: r["median_seconds"],
        bench_daily_lane.TARGET_SECONDS,
        "s",
        why=lambda r: _largest(r.get("phases_median_seconds", {})),
    ),
    Target(
        "peak memory, 45-day backfill / 5-day",
        "memory",
        _memory_ratio,
        bench_memory.TARGET_RATIO,
        "x",
        why=_memory_why,
    ),
    Target(
        "SCALE.md: 45-day backfill of 900M rows a day, hours",
        "scale",
        lambda r: r["wall_hours"],
        8.0,
        "h",
        size=lambda r: r["rows_per_day"],
        always_explained=True,
        why=lambda r: (
            f"USD {r['cost_usd']:,.0f} with {r['vcpus_per_job']} vCPUs a job and a "
            f"Snowflake {r['warehouse']}; the {r['long_request']['days']}-day request "
            f"{r['long_request']['wall_hours_at_the_first_size']:.1f} h at that size, "
            f"USD {r['long_request']['cost_usd_at_the_first_size']:,.0f}"
        ),
    ),
)


def _limit(target: Target) -> str:
    return f"{target.compare} {_fmt(target.limit, target.unit).strip()}"


def verdict(target: Target, result: Result) -> tuple[str, str, str, str, str, str]:
    """One target's row: what, the figure (with the rows a day), the limit, met or by how much
    not, why (from the result), when it was measured."""
    figure = target.figure(result)
    limit = _limit(target)
    if target.met(figure):
        outcome = "met"
    else:
        outcome = f"NOT met by {_fmt(abs(figure - target.limit), target.unit).strip()}"
    try:
        why = target.why(result)
    except (KeyError, TypeError, ValueError):
        why = ""
    return (
        target.what,
        f"{_fmt(figure, target.unit).strip()} ({target.size(result):,} rows a day)",
        limit,
        outcome,
        why,
        f"{result.get('measured_at', '-')} {result.get('commit', '')}".strip(),
    )


def verdicts(folder: Path) -> list[tuple[str, ...]]:
    """Per target: what it asks, the figure, the limit, met or not, why, when measured."""
    rows = []
    for target in TARGETS:
        path = folder / f"{target.result}.json"
        if not path.is_file():
            rows.append((target.what, "not measured", _limit(target), "-", "", "-"))
            continue
        try:
            rows.append(verdict(target, json.loads(path.read_text())))
        except KeyError as missing:
            found = f"not in {path.name} ({missing})"
            rows.append((target.what, found, _limit(target), "-", "", "-"))
    return rows


def main() -> None:
    rows = verdicts(RESULTS)
    print_table(
        "Targets of issue 25 (from benchmarks/results/)",
        ["target", "measured", "limit", "", "measured at (UTC), commit"],
        [(what, figure, limit, outcome, when) for what, figure, limit, outcome, _, when in rows],
    )
    explained = {t.what for t in TARGETS if t.always_explained}
    notes = [
        (what, why)
        for what, _, _, outcome, why, _ in rows
        if outcome.startswith("NOT") or (what in explained and outcome != "-")
    ]
    if notes:
        print("\nEach miss, why (from the same results), and what a figure needs beside it:")
        for what, why in notes:
            print(f"- {what}: {why or 'see its benchmark output'}")


if __name__ == "__main__":
    main()
