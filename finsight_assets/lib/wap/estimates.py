"""How long steps took (audit.run_steps), recorded by each step and read for estimates: the
measured rate a backfill's plan is priced with, the time all steps spent."""

from __future__ import annotations

from finsight_assets.lib.engines.warehouse import Warehouse
from finsight_assets.lib.wap.audit_tables import RUN_STEPS, insert_records
from finsight_assets.lib.wap.model import RunStep


def record_run_step(warehouse: Warehouse, step: RunStep) -> None:
    insert_records(warehouse, RUN_STEPS, [step])


def step_seconds(warehouse: Warehouse) -> float:
    """Seconds spent in every recorded step, all runs together."""
    return float(
        warehouse.fetchall(f"SELECT COALESCE(SUM(seconds), 0) FROM {RUN_STEPS.name}")[0][0]
    )


def measured_rows_per_second(warehouse: Warehouse, recent_runs: int = 20) -> float | None:
    """Raw rows per second of wall time over the most recent runs that read raw rows."""
    rows, seconds = warehouse.fetchall(
        f"SELECT SUM(raw_rows), SUM(seconds) FROM {RUN_STEPS.name} WHERE run_id IN ("
        f"SELECT run_id FROM {RUN_STEPS.name} GROUP BY run_id HAVING SUM(raw_rows) > 0 "
        f"ORDER BY MAX(run_started_at) DESC LIMIT {int(recent_runs)})"
    )[0]
    if not rows or not seconds:
        return None
    return float(rows) / float(seconds)
