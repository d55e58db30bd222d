"""Shared by the benchmark scripts: timing, medians, result files, a small table printer."""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"
# Generated raw days kept between invocations (not committed): a 10M-row day takes minutes.
DATA = Path(__file__).resolve().parent / "data"
GENERATOR = Path(__file__).resolve().parents[1] / "finsight_assets" / "dev" / "synthetic"


def arguments(
    description: str | None, rows: int, repeats: int | None = 3
) -> argparse.ArgumentParser:
    """A script's parser with the options every benchmark has: `--rows` a day and, when the
    script repeats its measure, `--repeats`."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--rows", type=int, default=rows)
    if repeats is not None:
        parser.add_argument("--repeats", type=int, default=repeats)
    return parser


@contextmanager
def scratch(name: str) -> Iterator[Path]:
    """A temporary folder for one benchmark's homes and warehouses, removed when it ends."""
    root = Path(tempfile.mkdtemp(prefix=f"finsight-bench-{name}-"))
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


def cores() -> int:
    return len(os.sched_getaffinity(0))


def timed(
    action: Callable[[], Any], clock: Callable[[], float] = time.perf_counter
) -> tuple[float, Any]:
    """What `action` took on `clock` (wall time; `time.process_time` for this process's CPU)."""
    started = clock()
    value = action()
    return clock() - started, value


def median_seconds(
    action: Callable[[], Any], repeats: int, clock: Callable[[], float] = time.perf_counter
) -> tuple[float, list[float]]:
    samples = [timed(action, clock)[0] for _ in range(repeats)]
    return statistics.median(samples), samples


def interleaved_medians(
    actions: dict[str, Callable[[], float | None]], repeats: int
) -> dict[str, tuple[float, list[float]]]:
    """Per action, the median of its seconds and the samples, the actions taking turns
    (a, b, a, b, ...): a machine that slows or speeds up meanwhile moves all of them alike,
    so their ratios hold. An action may return its own seconds (a part of what it does);
    otherwise its whole call is timed."""
    samples: dict[str, list[float]] = {name: [] for name in actions}
    for _ in range(repeats):
        for name, action in actions.items():
            seconds, own = timed(action)
            samples[name].append(seconds if own is None else own)
    return {name: (statistics.median(s), s) for name, s in samples.items()}


def print_table(title: str, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    cells = [list(map(str, header))] + [[_fmt(v) for v in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    print(f"\n{title}")
    for index, row in enumerate(cells):
        print(
            "  ".join(
                v.rjust(w) if i else v.ljust(w)
                for i, (v, w) in enumerate(zip(row, widths, strict=True))
            )
        )
        if index == 0:
            print("  ".join("-" * w for w in widths))


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.2f}" if value < 1000 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def cached_lake(first: date, last: date, rows_per_day: int, seed: int = 7) -> Path:
    """A generated raw lake for these days, made once under benchmarks/data and reused while the
    generator's code is unchanged (its source is part of the folder's name)."""
    from finsight_assets.dev.synthetic import generate_raw

    code = hashlib.sha256(
        b"".join(p.read_bytes() for p in sorted(GENERATOR.glob("*.py")))
    ).hexdigest()[:10]
    folder = DATA / f"{first}_{last}_{rows_per_day}_{seed}_{code}"
    lake = folder / "lake"
    if not (folder / "complete").is_file():
        shutil.rmtree(folder, ignore_errors=True)
        generate_raw(lake, first, last, rows_per_day=rows_per_day, seed=seed)
        (folder / "complete").write_text("")
    return lake


def linked_copy(lake: Path, target: Path) -> Path:
    """`lake` under `target`, its files hard links: a run's staging never touches the cache."""
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(lake, target, copy_function=_link)
    return target


def _link(source: str, target: str) -> None:
    Path(target).hardlink_to(source)


def commit() -> str:
    """The checked-out commit (short), with `+` when the work tree has changes."""
    root = Path(__file__).resolve().parents[1]
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain"], cwd=root, capture_output=True, text=True
        ).stdout.strip()
    except OSError:
        return "unknown"
    return f"{head}+" if dirty else head or "unknown"


def write_result(name: str, payload: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    payload = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": commit(),
        "machine": {
            "cores": cores(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        **payload,
    }
    path.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    return path
