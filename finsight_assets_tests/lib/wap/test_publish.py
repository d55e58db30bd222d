"""The write-audit-publish protocol on DuckDB: atomic swaps, kept versions, rollback, refusals."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from finsight_assets.lib.contract.run_tags import DRY_RUN, LIVE
from finsight_assets.lib.engines.duckdb_warehouse import DuckDBWarehouse, open_duckdb
from finsight_assets.lib.tables.silver_customers import SILVER_CUSTOMERS
from finsight_assets.lib.wap import publish
from finsight_assets.lib.wap.audits.generic import unique_key
from finsight_assets.lib.wap.checks import Check
from finsight_assets.lib.wap.layout import ensure_schema
from finsight_assets.lib.wap.model import (
    AuditFailed,
    AuditOutcome,
    PredecessorChanged,
    PublishError,
    RunInfo,
)
from finsight_assets.lib.wap.rollback import rollback
from finsight_assets.lib.wap.versions import all_current_versions, current_versions

DAY = date(2025, 3, 3)
OTHER_DAY = date(2025, 3, 4)
CLOCK = datetime(2025, 3, 5, 6, 0, tzinfo=UTC)


def candidates(day: date, *customers: tuple[str, str]) -> str:
    """A candidate SELECT of silver.customers rows: (customer_id, segment) each."""
    rows = " UNION ALL ".join(
        f"SELECT DATE '{day}' AS business_date, '{cid}' AS customer_id, 'US' AS country, "
        f"'{segment}' AS segment, 'VERIFIED' AS kyc_status, "
        "CAST('2024-01-01 00:00:00+00' AS TIMESTAMP WITH TIME ZONE) AS created_at, "
        f"'{'a' * 64}' AS email_sha256"
        for cid, segment in customers
    )
    return rows


def run(run_id: str, mode: str = LIVE) -> RunInfo:
    return RunInfo(run_id=run_id, mode=mode, clock=CLOCK)


@pytest.fixture
def warehouse(tmp_path: Path):
    with open_duckdb(tmp_path / "warehouse.duckdb") as connection:
        wh = DuckDBWarehouse(connection)
        ensure_schema(wh)
        yield wh


def publish_customers(wh, run_id, day, *customers, audits=(), mode=LIVE):
    results, published = publish.write_audit_publish(
        wh,
        SILVER_CUSTOMERS,
        run(run_id, mode),
        "1",
        {day: f"input-{run_id}"},
        candidates(day, *customers),
        checks=list(audits),
    )
    return results, published.versions


def table_rows(wh) -> list[tuple]:
    return wh.fetchall("SELECT * FROM silver.customers ORDER BY business_date, customer_id")


def test_publish_replaces_the_partition_and_records_the_version(warehouse):
    _, (v1,) = publish_customers(warehouse, "r1", DAY, ("C1", "RETAIL"), ("C2", "SMB"))
    _, (v2,) = publish_customers(warehouse, "r2", DAY, ("C1", "CORPORATE"))
    assert [(r[1], r[3], r[7]) for r in table_rows(warehouse)] == [("C1", "CORPORATE", "r2")]
    assert v2.replaced_version_id == v1.version_id
    assert (v1.row_count, v2.row_count) == (2, 1)
    assert v1.checksum != v2.checksum
    # The replaced version's rows stay, as written, beside the current one's, for rollback.
    kept = warehouse.fetchall(
        "SELECT customer_id, _version_id FROM versions.silver__customers "
        f"WHERE _version_id = '{v1.version_id}' ORDER BY 1"
    )
    assert kept == [("C1", v1.version_id), ("C2", v1.version_id)]
    assert current_versions(warehouse, "silver.customers", [DAY]) == {DAY: v2.version_id}


def test_same_rows_give_the_same_checksum(warehouse):
    _, (v1,) = publish_customers(warehouse, "r1", DAY, ("C1", "RETAIL"), ("C2", "SMB"))
    _, (v2,) = publish_customers(warehouse, "r2", DAY, ("C2", "SMB"), ("C1", "RETAIL"))
    assert v1.checksum == v2.checksum


def test_other_partitions_are_untouched(warehouse):
    publish_customers(warehouse, "r1", OTHER_DAY, ("C9", "SMB"))
    publish_customers(warehouse, "r2", DAY, ("C1", "RETAIL"))
    publish_customers(warehouse, "r3", DAY, ("C1", "SMB"))
    other = warehouse.fetchall(
        f"SELECT customer_id, _run_id FROM silver.customers WHERE business_date = DATE '{OTHER_DAY}'"
    )
    assert other == [("C9", "r1")]


FAILING = Check(
    "always_fails",
    lambda wh, staged, inputs: AuditOutcome(passed=False, summary="planted failure"),
    blocking=True,
    description="planted",
)


def test_a_failing_blocking_audit_publishes_nothing(warehouse):
    publish_customers(warehouse, "r1", DAY, ("C1", "RETAIL"))
    before = table_rows(warehouse)
    with pytest.raises(AuditFailed, match="always_fails") as raised:
        publish_customers(warehouse, "r2", DAY, ("C1", "SMB"), audits=[FAILING])
    assert table_rows(warehouse) == before
    assert raised.value.audits["silver.customers"][0].name == "always_fails"
    staging = warehouse.fetchall(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'staging'"
    )
    assert staging == []


FAILS_ON_OTHER_DAY = Check(
    "fails_on_other_day",
    lambda wh, staged, inputs: AuditOutcome(
        passed=False,
        summary="planted failure on one day",
        by_date={d: d != OTHER_DAY for d in staged.dates},
    ),
    blocking=True,
    description="planted",
)


def test_the_days_a_blocking_audit_passed_publish_and_the_others_are_held_back(warehouse):
    publish_customers(warehouse, "r1", OTHER_DAY, ("C9", "RETAIL"))
    before_other = table_rows(warehouse)
    _, published = publish.write_audit_publish(
        warehouse,
        SILVER_CUSTOMERS,
        run("batch"),
        "1",
        {DAY: "input-a", OTHER_DAY: "input-b"},
        f"{candidates(DAY, ('C1', 'SMB'))} UNION ALL {candidates(OTHER_DAY, ('C9', 'SMB'))}",
        checks=[FAILS_ON_OTHER_DAY],
    )
    assert [v.business_date for v in published.versions] == [DAY]
    assert list(published.withheld) == [OTHER_DAY]
    assert "fails_on_other_day (planted failure on one day)" in published.withheld[OTHER_DAY]
    rows = table_rows(warehouse)
    assert [r for r in rows if r[0] == OTHER_DAY] == [r for r in before_other if r[0] == OTHER_DAY]
    assert [r[1] for r in rows if r[0] == DAY] == ["C1"]


def test_a_chain_table_publishes_no_day_when_one_fails(warehouse):
    from finsight_assets.lib.tables.gold_account_daily_balance import GOLD_ACCOUNT_DAILY_BALANCE

    empty = f"SELECT {', '.join(GOLD_ACCOUNT_DAILY_BALANCE.business_columns)} FROM " + (
        f"{GOLD_ACCOUNT_DAILY_BALANCE.qualified_name} WHERE 1 = 0"
    )
    with pytest.raises(AuditFailed, match="fails_on_other_day"):
        publish.write_audit_publish(
            warehouse,
            GOLD_ACCOUNT_DAILY_BALANCE,
            run("chain"),
            "1",
            {DAY: "a", OTHER_DAY: "b"},
            empty,
            checks=[FAILS_ON_OTHER_DAY],
        )
    assert all_current_versions(warehouse) == {}


def test_a_failing_non_blocking_audit_still_publishes(warehouse):
    warning = Check(
        "warn",
        lambda wh, staged, inputs: AuditOutcome(passed=False, summary="just a warning"),
        blocking=False,
        description="planted",
    )
    publish_customers(warehouse, "r1", DAY, ("C1", "SMB"), audits=[warning])
    assert len(table_rows(warehouse)) == 1


def test_a_dry_run_audits_and_publishes_nothing(warehouse):
    results, versions = publish_customers(
        warehouse, "r1", DAY, ("C1", "SMB"), audits=[PUBLISH_UNIQUE], mode=DRY_RUN
    )
    assert versions == [] and table_rows(warehouse) == []
    assert results[0].passed


PUBLISH_UNIQUE = Check("unique_key", unique_key, blocking=True, description="unique")


# The swap's first statement inside a publish's transaction, after the new rows are written.
SWAP_POINTERS = "DELETE FROM audit.current_versions"


class FailAfterDelete:
    """A warehouse that dies right after the swap's DELETE of the current versions, inside the
    transaction (the new rows written, the old pointers gone, the new ones not yet in)."""

    def __init__(self, inner):
        self.inner = inner

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def execute(self, sql: str, params=()) -> None:
        self.inner.execute(sql, params)
        if sql.startswith(SWAP_POINTERS):
            raise RuntimeError("connection lost mid-publish")

    def count_changed(self, sql: str, params=()) -> int:
        changed = self.inner.count_changed(sql, params)
        if sql.startswith(SWAP_POINTERS):
            raise RuntimeError("connection lost mid-publish")
        return changed


def test_a_failing_publish_leaves_the_previous_version_intact(warehouse):
    publish_customers(warehouse, "r1", DAY, ("C1", "RETAIL"), ("C2", "SMB"))
    before = table_rows(warehouse)
    versions_before = warehouse.fetchall("SELECT * FROM audit.current_versions")
    with pytest.raises(RuntimeError, match="mid-publish"):
        publish_customers(FailAfterDelete(warehouse), "r2", DAY, ("C3", "SMB"))
    assert table_rows(warehouse) == before
    assert warehouse.fetchall("SELECT * FROM audit.current_versions") == versions_before
    assert warehouse.fetchall(
        "SELECT COUNT(*) FROM versions.silver__customers WHERE _run_id = 'r2'"
    ) == [(0,)]


def test_readers_see_the_old_partition_until_commit(warehouse, tmp_path):
    publish_customers(warehouse, "r1", DAY, ("C1", "RETAIL"), ("C2", "SMB"))
    inside = threading.Event()
    release = threading.Event()

    class PauseAfterDelete(FailAfterDelete):
        def execute(self, sql: str, params=()) -> None:
            self.inner.execute(sql, params)

        def count_changed(self, sql: str, params=()) -> int:
            changed = self.inner.count_changed(sql, params)
            if sql.startswith(SWAP_POINTERS):
                inside.set()
                release.wait(10)
            return changed

    writer = threading.Thread(
        target=publish_customers,
        args=(PauseAfterDelete(warehouse), "r2", DAY, ("C3", "SMB")),
    )
    writer.start()
    assert inside.wait(10)
    reader = warehouse.connection.cursor()
    seen = reader.execute("SELECT customer_id FROM silver.customers ORDER BY 1").fetchall()
    release.set()
    writer.join(10)
    assert seen == [("C1",), ("C2",)]
    assert [r[1] for r in table_rows(warehouse)] == ["C3"]


KILLED_PUBLISH = textwrap.dedent(
    """
    import sys, time
    from datetime import UTC, date, datetime
    from pathlib import Path
    from finsight_assets.lib.contract.run_tags import LIVE
    from finsight_assets.lib.wap import publish
    from finsight_assets.lib.wap.model import RunInfo
    from finsight_assets.lib.tables.silver_customers import SILVER_CUSTOMERS
    from finsight_assets.lib.engines.duckdb_warehouse import DuckDBWarehouse, open_duckdb
    from finsight_assets_tests.lib.wap.test_publish import candidates

    class StopInsideSwap:
        def __init__(self, inner):
            self.inner = inner
        def __getattr__(self, name):
            return getattr(self.inner, name)
        def execute(self, sql, params=()):
            self.inner.execute(sql, params)
            if sql.startswith("INSERT INTO versions.silver__customers"):
                print("inside", flush=True)
                time.sleep(60)

    with open_duckdb(Path(sys.argv[1])) as connection:
        wh = StopInsideSwap(DuckDBWarehouse(connection))
        run = RunInfo("killed", LIVE, datetime(2025, 3, 5, tzinfo=UTC))
        publish.write_audit_publish(
            wh, SILVER_CUSTOMERS, run, "1", {date(2025, 3, 3): "x"},
            candidates(date(2025, 3, 3), ("C7", "SMB")), checks=[],
        )
    """
)


def test_a_killed_publish_leaves_the_previous_version_intact(tmp_path):
    path = tmp_path / "warehouse.duckdb"
    with open_duckdb(path) as connection:
        wh = DuckDBWarehouse(connection)
        ensure_schema(wh)
        publish_customers(wh, "r1", DAY, ("C1", "RETAIL"), ("C2", "SMB"))
        before = table_rows(wh)
    repo = Path(__file__).resolve().parents[3]
    child = subprocess.Popen(
        [sys.executable, "-c", KILLED_PUBLISH, str(path)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(repo)},
    )
    try:
        assert child.stdout.readline().strip() == "inside"
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    finally:
        child.kill()
    time.sleep(0.2)
    with open_duckdb(path) as connection:
        wh = DuckDBWarehouse(connection)
        assert table_rows(wh) == before
        runs = wh.fetchall("SELECT DISTINCT run_id FROM audit.partition_versions")
        assert runs == [("r1",)]


def test_rollback_restores_the_previous_version_exactly(warehouse):
    _, (v1,) = publish_customers(warehouse, "r1", DAY, ("C1", "RETAIL"), ("C2", "SMB"))
    before = table_rows(warehouse)
    _, (v2,) = publish_customers(warehouse, "r2", DAY, ("C1", "CORPORATE"), ("C3", "SMB"))
    restored = rollback(warehouse, SILVER_CUSTOMERS, [v2.version_id], run("undo"))
    assert restored == {DAY: v1.version_id}
    assert table_rows(warehouse) == before
    assert current_versions(warehouse, "silver.customers", [DAY]) == {DAY: v1.version_id}
    log = warehouse.fetchall(
        "SELECT action, version_id, previous_version_id, run_id FROM audit.publish_log ORDER BY seq"
    )
    assert log[-1] == ("rollback", v1.version_id, v2.version_id, "undo")
    # The rolled-back version is kept too, so the rollback itself can be undone.
    kept = warehouse.fetchall("SELECT DISTINCT _version_id FROM versions.silver__customers")
    assert sorted(kept) == sorted([(v1.version_id,), (v2.version_id,)])


def test_rollback_of_a_first_publish_empties_the_partition(warehouse):
    _, (v1,) = publish_customers(warehouse, "r1", DAY, ("C1", "RETAIL"))
    assert rollback(warehouse, SILVER_CUSTOMERS, [v1.version_id], run("undo")) == {DAY: None}
    assert table_rows(warehouse) == []
    assert current_versions(warehouse, "silver.customers", [DAY]) == {}


def test_rollback_refuses_when_republished_since_unless_forced(warehouse):
    _, (v1,) = publish_customers(warehouse, "r1", DAY, ("C1", "RETAIL"))
    _, (v2,) = publish_customers(warehouse, "r2", DAY, ("C1", "SMB"))
    publish_customers(warehouse, "r3", DAY, ("C1", "CORPORATE"))
    with pytest.raises(PublishError, match="republished since"):
        rollback(warehouse, SILVER_CUSTOMERS, [v2.version_id], run("undo"))
    assert [r[3] for r in table_rows(warehouse)] == ["CORPORATE"]
    rollback(warehouse, SILVER_CUSTOMERS, [v2.version_id], run("undo"), force=True)
    assert [r[3] for r in table_rows(warehouse)] == ["RETAIL"]
    assert current_versions(warehouse, "silver.customers", [DAY]) == {DAY: v1.version_id}


def test_publish_refuses_when_the_predecessor_changed(warehouse):
    _, (v1,) = publish_customers(warehouse, "r1", DAY, ("C1", "RETAIL"))
    staged = publish.stage(
        warehouse,
        SILVER_CUSTOMERS,
        run("r2"),
        "1",
        {OTHER_DAY: "x"},
        candidates(OTHER_DAY, ("C1", "RETAIL")),
        predecessor=(DAY, v1.version_id),
    )
    publish_customers(warehouse, "r3", DAY, ("C1", "SMB"))
    with pytest.raises(PredecessorChanged, match="republished"):
        publish.publish(warehouse, staged)
    assert warehouse.fetchall(
        f"SELECT COUNT(*) FROM silver.customers WHERE business_date = DATE '{OTHER_DAY}'"
    ) == [(0,)]


def test_a_roll_forward_refuses_when_a_later_day_was_published_meanwhile(warehouse):
    staged = publish.stage(
        warehouse,
        SILVER_CUSTOMERS,
        run("backfill"),
        "1",
        {DAY: "x"},
        candidates(DAY, ("C1", "RETAIL")),
        rolls_forward=True,
    )
    publish_customers(warehouse, "daily", OTHER_DAY, ("C1", "SMB"))
    with pytest.raises(PredecessorChanged, match=f"{OTHER_DAY} was published"):
        publish.publish(warehouse, staged)
    assert current_versions(warehouse, "silver.customers", [DAY]) == {}
