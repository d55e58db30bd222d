"""Keep Dagster's SQLite files open while a command runs, so each of its writes commits once.

Dagster's SQLite storage opens a connection per read or write and closes it. In WAL mode the
last connection to close a database checkpoints the WAL into it and deletes it, which costs
fsyncs on every event. While this process holds one idle connection to each database file
under the instance's home, those closes leave the WAL in place and SQLite checkpoints it in
its own time. The storage, its journal mode and its durability are Dagster's, unchanged.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

# How often a new database file (a run's own event log shard) is looked for.
_POLL_SECONDS = 0.005


def _open(path: Path) -> sqlite3.Connection | None:
    """An idle connection to a database already in WAL mode (None otherwise, for now): having
    read it in WAL mode, SQLite counts it among the file's open connections."""
    try:
        # mode=rw: a file removed meanwhile is not created again.
        connection = sqlite3.connect(
            f"{path.as_uri()}?mode=rw", uri=True, timeout=0.1, check_same_thread=False
        )
    except sqlite3.Error:
        return None
    try:
        (mode,) = connection.execute("PRAGMA journal_mode").fetchone()
    except sqlite3.Error:
        mode = None
    if mode == "wal":
        return connection
    connection.close()
    return None


def _folders(home: Path) -> list[Path]:
    """Where Dagster's SQLite storage keeps its files: runs, event log shards, schedules."""
    return [home / "history", home / "history" / "runs", home / "schedules"]


@contextmanager
def hold_sqlite_files(home: Path) -> Iterator[None]:
    """Hold a connection to each SQLite file under `home`, those that appear meanwhile too,
    until the block ends."""
    held: dict[Path, sqlite3.Connection] = {}
    done = threading.Event()

    pending: set[Path] = set()
    seen: dict[Path, int] = {}

    def look() -> None:
        for folder in _folders(home):
            try:
                changed = folder.stat().st_mtime_ns != seen.get(folder)
            except OSError:
                continue
            if changed:
                seen[folder] = folder.stat().st_mtime_ns
                pending.update(p for p in folder.glob("*.db") if p not in held)
        for path in sorted(pending):
            if (connection := _open(path)) is not None:
                held[path] = connection
                pending.discard(path)

    def watch() -> None:
        while True:
            look()
            if done.wait(_POLL_SECONDS):
                return

    watcher = threading.Thread(target=watch, name="hold-sqlite-files", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        done.set()
        watcher.join()
        for connection in held.values():
            connection.close()


def main() -> None:
    """Hold the SQLite files under a Dagster home (the first argument) until terminated: beside
    the daemon and webserver, the run workers' writes commit once each too."""
    import signal
    import sys

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with hold_sqlite_files(Path(sys.argv[1])), suppress(KeyboardInterrupt):
        stop.wait()


if __name__ == "__main__":
    main()
