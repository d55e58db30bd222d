"""How long each step took for how many rows: what backfill estimates are measured from."""

from __future__ import annotations

from datetime import datetime

from finsight_assets.lib.engines.warehouse import (
    AUDIT_SCHEMA,
    Warehouse,
    string_literal,
    timestamp_literal,
)


def record_run_step(
    warehouse: Warehouse,
    run_id: str,
    asset: str,
    partitions: int,
    raw_rows: int,
    rows_written: int,
    seconds: float,
    run_started_at: datetime,
) -> None:
    warehouse.execute(
        f"INSERT INTO {AUDIT_SCHEMA}.run_steps VALUES ({string_literal(run_id)}, "
        f"{string_literal(asset)}, {int(partitions)}, {int(raw_rows)}, {int(rows_written)}, "
        f"{float(seconds)}, {timestamp_literal(run_started_at)})"
    )
