"""No stale publish: a silver partition publishes only if its raw input, when it publishes, is
still the one it was computed from; a delivery landing meanwhile (while Spark runs, or after the
check and before the publish takes its locks) leaves the day to the next run.
"""

from __future__ import annotations

import shutil
from contextlib import contextmanager
from datetime import UTC, date, datetime

from finsight_assets.dev.synthetic import generate_raw
from finsight_assets.lib.contract.run_tags import LIVE
from finsight_assets.lib.engines.duckdb_warehouse import duckdb_connector
from finsight_assets.lib.engines.lake import LocalLake
from finsight_assets.lib.engines.spark import LocalSparkEngine
from finsight_assets.lib.layers import silver, silver_inputs
from finsight_assets.lib.tables.silver_transactions import TRANSACTION_EVENTS
from finsight_assets.lib.wap.audit_tables import PUBLISH_LOCKS
from finsight_assets.lib.wap.model import RunInfo
from finsight_assets.lib.wap.versions import published_partitions

FIRST, SECOND = date(2025, 3, 1), date(2025, 3, 2)
CLOCK = datetime(2025, 3, 5, 6, 0, tzinfo=UTC)


def redeliver(lake: LocalLake, name: str) -> None:
    """A corrected file of SECOND lands: a copy of its first file under `name`."""
    folder = lake.root / "raw" / "transactions" / f"business_date={SECOND}"
    first_file = sorted(folder.glob("*.parquet"))[0]
    shutil.copyfile(first_file, folder / name)


class DeliveryDuringCompute(LocalSparkEngine):
    """Local Spark, but a corrected file of SECOND lands while the job runs."""

    def __init__(self, spark, lake: LocalLake):
        super().__init__(spark)
        object.__setattr__(self, "lake", lake)

    def run(self, job) -> None:
        super().run(job)
        redeliver(self.lake, "redelivered-during-the-run.parquet")


def current(connect, table: str) -> dict[date, str]:
    with connect() as warehouse:
        return {p.business_date: p.input_version for p in published_partitions(warehouse, table)}


def test_a_day_whose_delivery_changed_while_it_was_computed_does_not_publish(spark, home):
    generate_raw(home / "lake", FIRST, SECOND, rows_per_day=200, seed=5)
    lake = LocalLake(home / "lake")
    connect = duckdb_connector(home / "warehouse.duckdb")
    result = silver.build_silver(
        TRANSACTION_EVENTS,
        DeliveryDuringCompute(spark, lake),
        lake,
        connect,
        RunInfo("older-delivery", LIVE, CLOCK),
        [FIRST, SECOND],
        "1",
    )
    assert set(result.failed) == {SECOND}
    assert "changed while 2025-03-02 was computed" in result.failed[SECOND]
    assert "raw/transactions and raw/fx_rates" in result.failed[SECOND]
    published = current(connect, "silver.transactions")
    assert set(published) == {FIRST}  # the other day of the batch still publishes
    assert set(current(connect, "silver.transactions_rejected")) == {FIRST}
    with connect() as warehouse:
        rows = warehouse.fetchall(
            "SELECT COUNT(*) FROM silver.transactions WHERE business_date = DATE '2025-03-02'"
        )
    assert rows == [(0,)]

    # The next run reads the new delivery and publishes it.
    again = silver.build_silver(
        TRANSACTION_EVENTS,
        LocalSparkEngine(spark),
        lake,
        connect,
        RunInfo("newer", LIVE, CLOCK),
        [SECOND],
        "1",
    )
    assert again.failed == {}
    assert current(connect, "silver.transactions")[SECOND] == silver_inputs.input_version(
        lake, ("transactions", "fx_rates"), SECOND
    )


class DeliveryBeforeTheLock:
    """A warehouse session during which a corrected file of SECOND lands right before the
    publish takes its first lock: after silver's raw-input check, before the swap."""

    def __init__(self, inner, lake: LocalLake):
        self.inner, self.lake, self.landed = inner, lake, False

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def execute(self, sql: str, params=()) -> None:
        if sql.startswith(f"UPDATE {PUBLISH_LOCKS.name}") and not self.landed:
            self.landed = True
            redeliver(self.lake, "redelivered-before-the-lock.parquet")
        self.inner.execute(sql, params)


def test_a_delivery_landing_between_the_input_check_and_the_lock_does_not_publish(spark, home):
    generate_raw(home / "lake", FIRST, SECOND, rows_per_day=200, seed=5)
    lake = LocalLake(home / "lake")
    connect = duckdb_connector(home / "warehouse.duckdb")
    sessions: list[DeliveryBeforeTheLock] = []

    @contextmanager
    def connect_landing():
        with connect() as warehouse:
            sessions.append(DeliveryBeforeTheLock(warehouse, lake))
            yield sessions[-1]

    result = silver.build_silver(
        TRANSACTION_EVENTS,
        LocalSparkEngine(spark),
        lake,
        connect_landing,
        RunInfo("superseded", LIVE, CLOCK),
        [FIRST, SECOND],
        "1",
    )
    assert [s.landed for s in sessions] == [True]
    assert set(result.failed) == {SECOND}
    assert "changed while 2025-03-02 was computed" in result.failed[SECOND]
    assert result.failed[SECOND].endswith("run it again")
    assert set(current(connect, "silver.transactions")) == {FIRST}
    assert set(current(connect, "silver.transactions_rejected")) == {FIRST}
    assert {v.business_date for vs in result.versions.values() for v in vs} == {FIRST}
