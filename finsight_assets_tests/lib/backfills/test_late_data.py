"""Late and corrected deliveries: a quiet period before planning, no stale publish when
backfills finish out of order, a re-plan when a backfill ended off the day's input."""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from finsight_assets.dev.synthetic import generate_raw, redeliver_corrections
from finsight_assets.lib.backfills.late_data import (
    AUTOMATIC_PLANS_PER_INPUT,
    ENDED,
    LEFT_ALONE,
    RUNNING,
    WAITING,
    changed_inputs,
    manifest_state,
    published_inputs,
    to_replan,
)
from finsight_assets.lib.backfills.operations import Backfills, open_backfills
from finsight_assets.lib.contract.run_tags import BACKFILL
from finsight_assets.lib.engines.lake import LocalLake
from finsight_assets.lib.engines.spark import LocalSparkEngine
from finsight_assets.lib.layers import silver
from finsight_assets.lib.settings import Settings
from finsight_assets.lib.tables.silver_transactions import TRANSACTION_EVENTS
from finsight_assets.lib.wap.model import RunInfo
from finsight_assets_tests.pipeline import CLOCK, query, run_pipeline

FIRST = date(2025, 3, 1)
DAYS = [FIRST + timedelta(days=i) for i in range(3)]
CORRECTED = DAYS[1]
QUIET = timedelta(seconds=60)
TOTAL = "SELECT SUM(amount) FROM silver.transactions WHERE business_date = DATE '2025-03-02'"


@pytest.fixture
def published(spark, home) -> Backfills:
    generate_raw(home / "lake", FIRST, DAYS[-1], rows_per_day=200, seed=11)
    run_pipeline(LocalSparkEngine(spark), home, DAYS, first=FIRST)
    return open_backfills(
        replace(Settings.from_env(), webserver_url="http://127.0.0.1:9"), lambda: CLOCK
    )


def sensor_tick(backfills: Backfills, now: datetime, states: dict[str, str] | None = None):
    """What the late-data sensor decides on a tick (`states`: manifest states by id)."""
    with backfills.connect() as warehouse:
        changed = changed_inputs(published_inputs(warehouse), backfills.lake)
    manifests = [
        (m, (states or {}).get(m.id, manifest_state(backfills.store.events(m.id), bool)))
        for m in backfills.store.list()
    ]
    return to_replan(changed, manifests, backfills.lake, now, QUIET)


def plan_from(backfills: Backfills, days: dict[str, list[date]]):
    return backfills.plan(
        reason="input changed",
        requested_by="sensor:raw_input_changes",
        requested_dates=days,
        source="sensor",
    )


def land(home, delta: str) -> datetime:
    """A corrected file of CORRECTED lands; when it landed."""
    (path,) = redeliver_corrections(home / "lake", [CORRECTED], Decimal(delta))
    return datetime.fromtimestamp(os.stat(path).st_mtime, UTC)


def test_a_delivery_is_planned_once_its_files_are_quiet(published, home):
    landed = land(home, "1.00")
    tick = sensor_tick(published, landed + QUIET / 2)
    assert (tick.plan, tick.settling) == ({}, [CORRECTED])
    tick = sensor_tick(published, landed + QUIET)
    assert tick.plan == {"silver.transactions": [CORRECTED]} and tick.settling == []


def test_the_manifest_states_that_hold_a_replan_back():
    assert manifest_state([{"event": "planned"}], bool) == WAITING
    launched = [{"event": "planned"}, {"event": "launched", "backfill_id": "b1"}]
    assert manifest_state(launched, lambda b: b == "b1") == RUNNING
    assert manifest_state(launched, lambda b: False) == ENDED
    assert manifest_state([*launched, {"event": "rolled_back"}], lambda b: False) == LEFT_ALONE
    assert manifest_state([*launched, {"event": "cancelled"}], lambda b: False) == LEFT_ALONE
    # Held for approval: a person decides, the sensor does not plan the day again.
    assert manifest_state(launched, lambda b: False, holds=True) == WAITING
    assert manifest_state([*launched, {"event": "rejected"}], lambda b: False) == LEFT_ALONE


class SecondFileLandsMidRun(LocalSparkEngine):
    """Local Spark for the older backfill; while it computes, the rest of the delivery lands
    and the newer backfill plans, runs and publishes to the end."""

    def __init__(self, spark, on_compute):
        super().__init__(spark)
        object.__setattr__(self, "on_compute", on_compute)

    def run(self, job) -> None:
        super().run(job)
        self.on_compute()


def test_backfills_finishing_out_of_order_leave_the_day_on_its_newest_input(spark, published, home):
    before = query(home, TOTAL)[0][0]
    landed = land(home, "1.00")
    older = plan_from(published, sensor_tick(published, landed + QUIET).plan)
    newer = {}

    def rest_of_the_delivery_lands():
        landed = land(home, "1.00")
        tick = sensor_tick(published, landed + QUIET, {older.id: RUNNING})
        assert tick.plan == {"silver.transactions": [CORRECTED]}
        newer["manifest"] = plan_from(published, tick.plan)
        run_pipeline(LocalSparkEngine(spark), home, DAYS, "newer-run", FIRST, newer["manifest"].id)
        newer["total"] = query(home, TOTAL)[0][0]

    # The older backfill computed from the first file, and finishes last.
    result = silver.build_silver(
        TRANSACTION_EVENTS,
        SecondFileLandsMidRun(spark, rest_of_the_delivery_lands),
        LocalLake(home / "lake"),
        published.connect,
        RunInfo("older-run", BACKFILL, CLOCK, manifest_id=older.id),
        [CORRECTED],
        "1",
    )
    assert "changed while 2025-03-02 was computed" in result.failed[CORRECTED]
    # The day keeps what the newer backfill published: twice-corrected amounts.
    assert query(home, TOTAL)[0][0] == newer["total"] > before
    with published.connect() as warehouse:
        assert changed_inputs(published_inputs(warehouse), published.lake) == {}
        versions = warehouse.fetchall(
            "SELECT manifest_id FROM audit.partition_versions WHERE table_name = ? "
            "AND business_date = CAST(? AS DATE) AND manifest_id IS NOT NULL",
            ["silver.transactions", CORRECTED.isoformat()],
        )
    assert versions == [(newer["manifest"].id,)]


def test_a_day_whose_backfill_ended_off_its_input_is_planned_again_then_left_to_a_person(
    published, home
):
    landed = land(home, "1.00")
    later = landed + QUIET
    plans = []
    for _ in range(AUTOMATIC_PLANS_PER_INPUT):
        tick = sensor_tick(published, later, {m.id: ENDED for m in plans})
        assert tick.plan == {"silver.transactions": [CORRECTED]} and tick.given_up == []
        plans.append(plan_from(published, tick.plan))
        # Held back while the backfill waits or runs.
        for state in (WAITING, RUNNING, LEFT_ALONE):
            held = sensor_tick(
                published, later, {**{m.id: ENDED for m in plans}, plans[-1].id: state}
            )
            assert held.plan == {} and held.given_up == []
    tick = sensor_tick(published, later, {m.id: ENDED for m in plans})
    assert tick.plan == {} and tick.given_up == [CORRECTED]
    # A newer delivery is a new input: planned again.
    landed = land(home, "1.00")
    tick = sensor_tick(published, landed + QUIET, {m.id: ENDED for m in plans})
    assert tick.plan == {"silver.transactions": [CORRECTED]}
