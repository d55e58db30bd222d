"""The dev stack over a fresh home: a backfill launched the moment `start_stack` returns finds
the code location's assets, and a location that failed to load is named as such.

Two processes creating a fresh SQLite instance at once can stamp schedules.db with two alembic
revisions (dagster-io/dagster#27390): every code server then fails to load, the location still
reads LOADED, and launchPartitionBackfill answers KeyError for every asset key.
"""

from __future__ import annotations

import logging
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from dagster_graphql import DagsterGraphQLClient

from finsight_assets.dev import stack as stack_module
from finsight_assets.dev.stack import DagsterStack, start_stack
from finsight_assets.lib.engines.webserver import DagsterApiError, PartitionRange

TRANSACTIONS = PartitionRange(["silver", "transactions"], "2025-03-01", "2025-03-03")


def _revisions(home: Path) -> list[str] | None:
    """The alembic revisions schedules.db is stamped with; None before it exists."""
    path = home / "dagster" / "schedules" / "schedules.db"
    if not path.exists():
        return None
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        return [row[0] for row in db.execute("SELECT version_num FROM alembic_version")]


@pytest.fixture(scope="module")
def started(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DagsterStack, list]]:
    """A stack over a fresh home, with the instance's revisions as each server started."""
    home = tmp_path_factory.mktemp("stack")
    seen: list[tuple[str, list[str] | None]] = []
    popen = subprocess.Popen

    def recording(command, *args, **kwargs):
        seen.append((Path(command[0]).name, _revisions(home)))
        return popen(command, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(stack_module.subprocess, "Popen", recording)
        stack = start_stack(home, "2025-03-01", days_per_run=10)
    try:
        yield stack, seen
    finally:
        stack.stop()


def test_the_daemon_starts_on_an_instance_the_webserver_created(started):
    stack, seen = started
    assert [name for name, _ in seen] == ["dagster-webserver", "dagster-daemon"]
    # The webserver meets no instance; the daemon, one stamped once.
    assert seen[0][1] is None
    assert seen[1][1] is not None and len(seen[1][1]) == 1
    assert len(_revisions(stack.home)) == 1


def test_a_backfill_launched_at_once_finds_the_locations_assets(started):
    stack, _ = started
    assert stack.webserver.location_loaded()
    backfill_id = stack.webserver.launch_backfill([TRANSACTIONS], {}, "at once", "")
    stack.webserver.cancel_backfill(backfill_id)


def test_a_location_that_failed_to_load_is_an_error_not_an_empty_location(started, caplog):
    """The state the race leaves, made on purpose: next to head, the revision Dagster stamps
    when it finds the tables already made but not yet stamped (sqlite_schedule_storage.py,
    LAST_KNOWN_STAMPED_SQLITE_ALEMBIC_REVISION); then the location reloaded, so its code server
    opens the instance anew. Runs last: it breaks the stack's instance."""
    stack, _ = started
    database = stack.home / "dagster" / "schedules" / "schedules.db"
    with sqlite3.connect(database) as db:
        db.execute("INSERT INTO alembic_version (version_num) VALUES ('5771160a95ad')")
    host, port = stack.url.removeprefix("http://").split(":")
    DagsterGraphQLClient(host, port_number=int(port)).reload_repository_location("finsight")

    with pytest.raises(DagsterApiError, match="finsight failed to load: .*more than one head"):
        stack.webserver.location_loaded()
    # What a launch answered when start-up missed it, with the server's traceback in the log.
    with caplog.at_level(logging.WARNING), pytest.raises(DagsterApiError) as raised:
        stack.webserver.launch_backfill([TRANSACTIONS], {}, "too soon", "")
    assert str(raised.value) == ("PythonError: KeyError: AssetKey(['silver', 'transactions'])\n")
    assert "in from_partitions_by_assets" in caplog.text
