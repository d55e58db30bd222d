"""On the Snowflake flavour a publish waits for another session's lock at most the session's
LOCK_TIMEOUT (Snowflake's default is 12 hours), then fails with WarehouseBusy naming the table
and how long it waited: a worker killed inside its publish transaction no longer holds the next
publish of those tables for half a day.

Two fake Snowflake sessions interleaved: the first takes a table's publish lock and keeps its
transaction open (as a killed worker's stays open on the server), the second publishes. fakesnow
waits for the lock as Snowflake does (`fakesnowflake.py`); what only a real account shows (the
exact error text, a detached transaction aborted by Snowflake) is in docs/limits.md.
"""

from __future__ import annotations

import re
import threading
import time
from datetime import UTC, date, datetime

import pytest

from finsight_assets.lib.engines.snowflake_warehouse import (
    LOCK_TIMEOUT_SECONDS,
    SESSION_PARAMETERS,
)
from finsight_assets.lib.engines.warehouse import WarehouseBusy
from finsight_assets.lib.wap.versions import current_versions, lock_tables
from finsight_assets_tests.fakesnowflake import fake_snowflake, recorded_connections
from finsight_assets_tests.lib.wap.test_concurrency import publish_day

DAY = date(2025, 3, 3)
CLOCK = datetime(2025, 3, 5, 6, 0, tzinfo=UTC)
# The wait these tests give a session instead of LOCK_TIMEOUT_SECONDS.
SHORT_WAIT = 2


@pytest.fixture
def snow(tmp_path, monkeypatch):
    monkeypatch.setitem(SESSION_PARAMETERS, "LOCK_TIMEOUT", SHORT_WAIT)
    with fake_snowflake(tmp_path, monkeypatch) as connect:
        yield connect


def test_every_session_is_opened_with_a_bounded_lock_wait(tmp_path, monkeypatch):
    assert 0 < LOCK_TIMEOUT_SECONDS < 43200
    with (
        fake_snowflake(tmp_path, monkeypatch) as connect,
        recorded_connections() as opened,
        connect(),
    ):
        pass
    assert [c["session_parameters"]["LOCK_TIMEOUT"] for c in opened] == [LOCK_TIMEOUT_SECONDS]


def test_a_lock_held_by_an_open_transaction_is_waited_out_then_warehouse_busy(snow):
    with snow() as killed_worker, snow() as publisher:
        publish_day(publisher, "first", DAY, "RETAIL")
        before = current_versions(publisher, "silver.customers", [DAY])
        # The worker's transaction stays open while the publisher waits; then it is aborted.
        with pytest.raises(RuntimeError, match="never committed"), killed_worker.transaction():
            lock_tables(killed_worker, ["silver.customers"], "killed-worker", CLOCK)
            started = time.monotonic()
            with pytest.raises(WarehouseBusy) as busy:
                publish_day(publisher, "waiting", DAY, "SMB")
            waited = time.monotonic() - started
            raise RuntimeError("the worker never committed")
        assert SHORT_WAIT <= waited < SHORT_WAIT + 10
        message = str(busy.value)
        assert message.startswith("silver.customers: its publish lock is held by another session")
        assert re.search(r"gave up after waiting \d+ s for a lock another session holds", message)
        assert "'PUBLISH_LOCKS'" in message  # Snowflake's own words name its locked table
        assert "run again when it is released" in message
        # Nothing of the waiting publish went live; once the lock is gone it publishes.
        assert current_versions(publisher, "silver.customers", [DAY]) == before
        (published,) = publish_day(publisher, "again", DAY, "SMB")
        assert current_versions(publisher, "silver.customers", [DAY]) == {DAY: published.version_id}


def test_a_publish_waiting_for_a_lock_goes_on_once_the_holder_commits(snow, monkeypatch):
    monkeypatch.setitem(SESSION_PARAMETERS, "LOCK_TIMEOUT", 30)
    with snow() as holder, snow() as publisher:
        publish_day(publisher, "first", DAY, "RETAIL")
        locked, release = threading.Event(), threading.Event()

        def hold_the_lock() -> None:
            with holder.transaction():
                lock_tables(holder, ["silver.customers"], "holder", CLOCK)
                locked.set()
                release.wait(20)

        thread = threading.Thread(target=hold_the_lock)
        thread.start()
        assert locked.wait(20)
        timer = threading.Timer(1.0, release.set)
        timer.start()
        started = time.monotonic()
        (published,) = publish_day(publisher, "waiting", DAY, "SMB")
        waited = time.monotonic() - started
        thread.join(20)
        assert 1.0 <= waited < 30
        assert current_versions(publisher, "silver.customers", [DAY]) == {DAY: published.version_id}
