"""Two real sessions publishing one table, interleaved statement by statement: the loser refuses
with a clear error and publishes nothing, the versions table keeps every version once, chains
stay whole.

Both sessions are DuckDB connections to one database file; one of them pauses between two of
its statements while the other publishes. (On Snowflake the second session waits for the first
one's lock instead of refusing; only a real account shows that wait.)
"""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime

import pytest

from finsight_assets.lib.contract.run_tags import LIVE
from finsight_assets.lib.engines.duckdb_warehouse import DuckDBWarehouse
from finsight_assets.lib.tables.silver_customers import SILVER_CUSTOMERS
from finsight_assets.lib.wap import publish
from finsight_assets.lib.wap.model import ConcurrentPublish, PredecessorChanged, RunInfo
from finsight_assets.lib.wap.rollback import rollback
from finsight_assets.lib.wap.versions import current_versions
from finsight_assets_tests.lib.wap.test_publish import candidates

DAY, NEXT_DAY = date(2025, 3, 3), date(2025, 3, 4)
CLOCK = datetime(2025, 3, 5, 6, 0, tzinfo=UTC)
# The statements of a publish transaction a session can be paused after.
PAUSE_POINTS = (
    "UPDATE audit.publish_locks",
    "SELECT business_date, version_id FROM audit.current_versions",
    "INSERT INTO versions.silver__customers",
    "SELECT _version_id, COUNT(*)",
    "INSERT INTO audit.partition_versions",
    "DELETE FROM audit.current_versions",
    "INSERT INTO audit.current_versions",
    "INSERT INTO audit.publish_log",
)


class PausingSession:
    """A session that stops right after its first statement starting with `point`."""

    def __init__(self, inner: DuckDBWarehouse, point: str):
        self.inner, self.point = inner, point
        self.paused, self.resume = threading.Event(), threading.Event()

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def _after(self, sql: str) -> None:
        if sql.startswith(self.point) and not self.paused.is_set():
            self.paused.set()
            assert self.resume.wait(20)

    def execute(self, sql: str, params=()) -> None:
        self.inner.execute(sql, params)
        self._after(sql)

    def fetchall(self, sql: str, params=()):
        rows = self.inner.fetchall(sql, params)
        self._after(sql)
        return rows

    def count_changed(self, sql: str, params=()) -> int:
        changed = self.inner.count_changed(sql, params)
        self._after(sql)
        return changed


def publish_day(wh, run_id: str, day: date, segment: str, predecessor=None, sources=None):
    staged = publish.stage(
        wh,
        SILVER_CUSTOMERS,
        RunInfo(run_id, LIVE, CLOCK),
        "1",
        {day: f"input-{run_id}"},
        candidates(day, ("C1", segment), ("C2", segment)),
        predecessor=predecessor,
        sources=sources,
    )
    try:
        return publish.publish(wh, staged)
    finally:
        publish.drop_staged(wh, staged)


def in_thread(target, *args) -> tuple[threading.Thread, dict]:
    outcome: dict = {}

    def run() -> None:
        try:
            outcome["value"] = target(*args)
        except BaseException as error:  # the test inspects it
            outcome["error"] = error

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def versions_kept(wh, version_id: str) -> int:
    rows = wh.fetchall(
        f"SELECT COUNT(*) FROM versions.silver__customers WHERE _version_id = '{version_id}'"
    )
    return rows[0][0]


@pytest.mark.parametrize("point", PAUSE_POINTS)
def test_the_second_publisher_refuses_and_each_version_is_kept_once(sessions, point):
    a, b = sessions
    (v1,) = publish_day(a, "first", DAY, "RETAIL")
    paused = PausingSession(a, point)
    thread, outcome = in_thread(publish_day, paused, "winner", DAY, "SMB")
    assert paused.paused.wait(20), f"never reached {point}"
    with pytest.raises(ConcurrentPublish, match="another session is publishing"):
        publish_day(b, "loser", DAY, "CORPORATE")
    paused.resume.set()
    thread.join(20)
    assert "error" not in outcome, outcome.get("error")
    (v2,) = outcome["value"]
    assert v2.replaced_version_id == v1.version_id
    assert current_versions(b, "silver.customers", [DAY]) == {DAY: v2.version_id}
    assert versions_kept(b, v1.version_id) == 2  # both rows of v1, once each
    segments = b.fetchall("SELECT DISTINCT segment, _run_id FROM silver.customers")
    assert segments == [("SMB", "winner")]
    loser = b.fetchall(
        "SELECT COUNT(*) FROM audit.partition_versions WHERE run_id = 'loser' UNION ALL "
        "SELECT COUNT(*) FROM audit.publish_log WHERE run_id = 'loser' UNION ALL "
        "SELECT COUNT(*) FROM versions.silver__customers WHERE _run_id = 'loser'"
    )
    assert loser == [(0,), (0,), (0,)]


def test_a_publish_after_the_other_committed_replaces_its_version(sessions):
    a, b = sessions
    (v1,) = publish_day(a, "first", DAY, "RETAIL")
    (v2,) = publish_day(b, "second", DAY, "SMB")
    assert v2.replaced_version_id == v1.version_id
    assert versions_kept(a, v1.version_id) == 2


def test_a_chain_never_publishes_from_a_predecessor_replaced_under_it(sessions):
    a, b = sessions
    (v1,) = publish_day(a, "first", DAY, "RETAIL")
    paused = PausingSession(a, "INSERT INTO audit.publish_log")
    thread, outcome = in_thread(publish_day, paused, "daily", DAY, "SMB")
    assert paused.paused.wait(20)
    # The next day computed from v1 while v1 is being replaced: refused.
    with pytest.raises(ConcurrentPublish):
        publish_day(b, "backfill", NEXT_DAY, "RETAIL", predecessor=(DAY, v1.version_id))
    paused.resume.set()
    thread.join(20)
    # Once the replacement is committed, the stale chain is refused by its predecessor check.
    with pytest.raises(PredecessorChanged, match="republished"):
        publish_day(b, "backfill", NEXT_DAY, "RETAIL", predecessor=(DAY, v1.version_id))
    assert current_versions(b, "silver.customers", [NEXT_DAY]) == {}
    (v2,) = outcome["value"]
    (v3,) = publish_day(b, "backfill", NEXT_DAY, "RETAIL", predecessor=(DAY, v2.version_id))
    assert v3.predecessor_version_id == v2.version_id


def test_a_table_computed_from_a_republished_source_refuses(sessions):
    a, b = sessions
    (v1,) = publish_day(a, "first", DAY, "RETAIL")
    publish_day(b, "second", DAY, "SMB")
    with pytest.raises(PredecessorChanged, match="silver.customers was republished for 2025-03-03"):
        publish_day(
            a, "gold", NEXT_DAY, "RETAIL", sources={"silver.customers": {DAY: v1.version_id}}
        )
    assert current_versions(a, "silver.customers", [NEXT_DAY]) == {}


def test_a_rollback_and_a_publish_do_not_interleave(sessions):
    a, b = sessions
    publish_day(a, "first", DAY, "RETAIL")
    (v2,) = publish_day(a, "second", DAY, "SMB")
    paused = PausingSession(a, "INSERT INTO versions.")
    thread, outcome = in_thread(publish_day, paused, "third", DAY, "CORPORATE")
    assert paused.paused.wait(20)
    with pytest.raises(ConcurrentPublish):
        rollback(b, SILVER_CUSTOMERS, [v2.version_id], RunInfo("undo", LIVE, CLOCK))
    paused.resume.set()
    thread.join(20)
    assert "error" not in outcome
    assert b.fetchall("SELECT DISTINCT _run_id FROM silver.customers") == [("third",)]
