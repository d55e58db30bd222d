"""Every performance target, met or not, from the result files the benchmarks wrote: the last
thing `make bench` prints. A target whose benchmark has not run yet (`make bench-memory`,
`make bench-big`) reads "not measured".

    python -m benchmarks.targets
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks import bench_daily_lane, bench_end_to_end, bench_memory, bench_orchestration
from benchmarks.bench_layers import TARGET_RATIO as LAYERS_TARGET_RATIO
from benchmarks.common import RESULTS, print_table


@dataclass(frozen=True)
class Target:
    """One target: what it asks, the result file it is read from, the measured figure, the
    limit it must stay within, the figure's unit, and the result's key for the rows a day."""

    what: str
    result: str
    figure: Callable[[dict[str, Any]], float]
    limit: float
    unit: str
    size: str = "rows_per_day"


def _memory_ratio(memory: dict[str, Any]) -> float:
    peaks = {int(days): mib for days, mib in memory["peak_mib"].items()}
    return peaks[max(peaks)] / peaks[min(peaks)]


TARGETS = (
    Target(
        "finsight materialize of a 1M-row day, warm Spark / plain DuckDB",
        "end_to_end",
        lambda r: r["ratio_to_plain_duckdb"],
        bench_end_to_end.TARGET_RATIO,
        "x",
        size="rows",
    ),
    Target(
        "silver + gold / Spark scan of the same day",
        "layers",
        lambda r: r["ratio_silver_gold_to_spark_scan"],
        LAYERS_TARGET_RATIO,
        "x",
        size="raw_rows",
    ),
    Target(
        "silver + gold / plain DuckDB",
        "layers",
        lambda r: r["ratio_silver_gold_to_plain_duckdb"],
        LAYERS_TARGET_RATIO,
        "x",
        size="raw_rows",
    ),
    Target(
        "batched 45-day backfill / its pure compute",
        "orchestration",
        lambda r: r["batched"]["wall_seconds"] / r["pure_compute"]["step_seconds"],
        bench_orchestration.TARGET_RATIO,
        "x",
    ),
    Target(
        "peak memory, 45 days / 5 days (make bench-memory)",
        "memory",
        _memory_ratio,
        bench_memory.TARGET_RATIO,
        "x",
    ),
    Target(
        "daily run start while a 60-day backfill fills its lane",
        "daily_lane",
        lambda r: r["median_seconds"],
        bench_daily_lane.TARGET_SECONDS,
        "s",
    ),
)


def verdicts(folder: Path) -> list[tuple[str, str, str, str, str]]:
    """Per target: what it asks, the figure measured (with the size), the limit, met or by how
    much not, and when it was measured."""
    rows = []
    for target in TARGETS:
        limit = f"{target.limit:g} {target.unit}"
        path = folder / f"{target.result}.json"
        if not path.is_file():
            rows.append((target.what, "not measured", limit, "-", "-"))
            continue
        result = json.loads(path.read_text())
        figure = target.figure(result)
        rows.append(
            (
                target.what,
                f"{figure:.2f} {target.unit} ({result[target.size]:,} rows a day)",
                limit,
                "met" if figure <= target.limit else f"NOT met by {figure - target.limit:.2f}",
                result.get("measured_at", "-"),
            )
        )
    return rows


def main() -> None:
    print_table(
        "Targets (from benchmarks/results/)",
        ["target", "measured", "limit", "", "measured at (UTC)"],
        verdicts(RESULTS),
    )


if __name__ == "__main__":
    main()
