"""Where a backfill run by the daemon spent its wall time, from its runs' records: until its
first run, with no run at all (waiting for the daemon's next look), and per run queued for a
slot, the worker's start-up and running (`bench_orchestration` prints it)."""

from __future__ import annotations

from pathlib import Path

import dagster as dg


def split_wall(
    spans: list[tuple[float, float, float, float]], launched: float, finished: float
) -> dict:
    """Where a backfill's wall time went, from its runs' (created, launched, started, ended)
    epoch seconds: until its first run was created (the backfill daemon's first look), then
    with no run created, queued or running (waiting for the daemon's next look at what
    finished); and per run, queued for a slot of the lane, the worker's start-up (launched to
    started), and running."""
    spans = sorted(spans)
    covered, reach = 0.0, launched
    for created, _, _, ended in spans:
        covered += max(0.0, ended - max(created, reach))
        reach = max(reach, ended)
    first = spans[0][0] - launched if spans else finished - launched
    return {
        "until_first_run_seconds": first,
        "between_runs_seconds": (finished - launched) - covered - first,
        "queued_seconds": [launched - created for created, launched, _, _ in spans],
        "worker_start_seconds": [started - launched for _, launched, started, _ in spans],
        "running_seconds": [ended - started for _, _, started, ended in spans],
    }


def timeline(home: Path, launched: float, finished: float) -> dict:
    """`split_wall` of the backfill run in `home`, and each run's assets, days and moments
    (seconds after the launch): a run is launched when the queue's coordinator starts its
    worker (its RUN_STARTING event); one not started or ended by `finished` counts as starting
    or ending then."""
    instance = dg.DagsterInstance.from_config(str(home / "dagster"))
    spans, runs = [], []
    for record in sorted(instance.get_run_records(), key=lambda r: r.create_timestamp):
        run = record.dagster_run
        started = record.start_time or finished
        launch = instance.all_logs(run.run_id, of_type=dg.DagsterEventType.RUN_STARTING)
        span = (
            record.create_timestamp.timestamp(),
            launch[0].timestamp if launch else started,
            started,
            record.end_time or finished,
        )
        spans.append(span)
        runs.append(
            {
                "assets": sorted(k.to_user_string() for k in run.asset_selection or ()),
                "days": "..".join(
                    run.tags.get(f"dagster/asset_partition_range_{end}", "?")
                    for end in ("start", "end")
                ),
                **dict(
                    zip(
                        ("created", "launched", "started", "ended"),
                        (moment - launched for moment in span),
                        strict=True,
                    )
                ),
            }
        )
    return {**split_wall(spans, launched, finished), "runs": runs}
