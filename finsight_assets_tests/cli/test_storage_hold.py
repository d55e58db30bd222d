"""`hold_sqlite_files`: while it holds a WAL database, a writer's close leaves the WAL in place
(no checkpoint per connection); files that appear meanwhile are held too; all is let go after."""

import sqlite3
import time
from pathlib import Path

from finsight_assets.cli.storage_hold import hold_sqlite_files


def _write_once(path: Path) -> None:
    """What Dagster's SQLite storage does per event: connect, write, commit, close."""
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("CREATE TABLE IF NOT EXISTS events (x)")
    connection.execute("INSERT INTO events VALUES (1)")
    connection.commit()
    connection.close()


def _wal(path: Path) -> Path:
    return path.with_name(path.name + "-wal")


def _wait_until(predicate, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_a_held_database_keeps_its_wal_between_writers_and_is_let_go_after(tmp_path):
    home = tmp_path / "dagster"
    runs = home / "history" / "runs.db"
    runs.parent.mkdir(parents=True)
    _write_once(runs)
    assert not _wal(runs).exists()  # the last close checkpointed and removed it

    with hold_sqlite_files(home):
        shard = home / "history" / "runs" / "a-run.db"
        shard.parent.mkdir()
        _write_once(shard)
        assert _wait_until(lambda: _held(runs) and _held(shard))
        _write_once(runs)
        _write_once(shard)
        assert _wal(runs).exists() and _wal(shard).exists()

    assert not _wal(runs).exists() and not _wal(shard).exists()
    rows = sqlite3.connect(shard).execute("SELECT count(*) FROM events").fetchone()
    assert rows[0] >= 2  # every write is in the database itself


def _held(path: Path) -> bool:
    """Whether another connection holds the file: a write then leaves its WAL behind."""
    _write_once(path)
    return _wal(path).exists()


def test_a_file_that_is_not_wal_is_not_held_and_a_missing_one_is_not_created(tmp_path):
    home = tmp_path / "dagster"
    (home / "schedules").mkdir(parents=True)
    plain = home / "schedules" / "schedules.db"
    connection = sqlite3.connect(plain)
    connection.execute("CREATE TABLE t (x)")
    connection.commit()
    connection.close()
    with hold_sqlite_files(home):
        time.sleep(0.05)
        plain.unlink()
        time.sleep(0.05)
    assert not plain.exists()


def test_earlier_runs_shards_are_left_alone_and_only_the_newest_shards_held(tmp_path, monkeypatch):
    from finsight_assets.cli import storage_hold

    monkeypatch.setattr(storage_hold, "_MAX_RUN_SHARDS", 1)
    runs = tmp_path / "history" / "runs"
    runs.mkdir(parents=True)
    index, old = runs / "index.db", runs / "old-run.db"
    _write_once(index)
    _write_once(old)
    with hold_sqlite_files(tmp_path):
        assert _wait_until(lambda: _held(index))
        first, second = runs / "run-1.db", runs / "run-2.db"
        _write_once(first)
        assert _wait_until(lambda: _held(first))
        _write_once(second)
        assert _wait_until(lambda: _held(second))
        assert _wait_until(lambda: not _held(first))
        assert not _held(old)
