"""A Dagster webserver and daemon over a FinSight home whose first days are materialized, for
the tests that drive backfills as the UI and the sensors do."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta

import pytest

from finsight_assets.cli.materialize import materialize_range
from finsight_assets.dev.stack import start_stack
from finsight_assets.dev.synthetic import generate_raw
from finsight_assets.lib.settings import Settings


@contextmanager
def running_stack(
    home,
    start: date,
    landed_days: int,
    materialized_days: int,
    rows_per_day: int,
    seed: int,
    days_per_run: int | None = None,
    late_data_quiet_seconds: int | None = None,
) -> Iterator:
    """Raw for `landed_days` days from `start`, the first `materialized_days` materialized,
    then the stack over that home."""
    last_landed = start + timedelta(days=landed_days - 1)
    last_materialized = start + timedelta(days=materialized_days - 1)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("FINSIGHT_HOME", str(home))
        env.setenv("FINSIGHT_START_DATE", start.isoformat())
        env.delenv("FINSIGHT_BACKFILL_DAYS_PER_RUN", raising=False)
        generate_raw(home / "lake", start, last_landed, rows_per_day=rows_per_day, seed=seed)
        outcomes = materialize_range(Settings.from_env(), start, last_materialized)
        assert all(o.success for o in outcomes)
    running = start_stack(
        home, start.isoformat(), days_per_run, late_data_quiet_seconds=late_data_quiet_seconds
    )
    try:
        yield running
    finally:
        running.stop()
