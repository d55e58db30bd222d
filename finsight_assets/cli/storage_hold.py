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
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# How often a new database file (a run's own event log shard) is looked for. Each look takes
# the GIL from the command's own thread: every 5 ms, a 1M-row `finsight materialize` made about
# 1,600 looks, 0.5 to 0.8 s inside them (every 50 ms: about 180, under 0.1 s). A shard held up
# to 50 ms late costs its first few events one WAL checkpoint each.
_POLL_SECONDS = 0.05
# The storage's own files (runs, the event log's index and run-less shard, schedules).
_SHARED = frozenset({"runs.db", "index.db", ".db", "schedules.db"})
# A long hold (a backfill of many runs) lets go of the oldest run shards.
_MAX_RUN_SHARDS = 32
_SETTLED_NS = 1_000_000_000


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


class _Holder:
    """The connections held: the storage's own files, and the run shards that appeared since
    the hold began (those of earlier runs are left alone), the newest `_MAX_RUN_SHARDS`."""

    def __init__(self, home: Path):
        self.home = home
        self.held: dict[Path, sqlite3.Connection] = {}
        self.shards: list[Path] = []
        self.pending: set[Path] = set()
        self.known: set[Path] = set()
        self.stamps: dict[Path, int] = {}
        self.started = False

    def look(self) -> None:
        """Take in the files that appeared since the last look, then hold those now in WAL."""
        for folder in _folders(self.home):
            try:
                stamp = folder.stat().st_mtime_ns
            except OSError:
                continue
            # A folder changed within its time stamp's resolution of the last look may have
            # changed since: looked at again until its stamp is a second old.
            if stamp == self.stamps.get(folder) and time.time_ns() - stamp > _SETTLED_NS:
                continue
            self.stamps[folder] = stamp
            new = set(folder.glob("*.db")) - self.known
            self.known |= new
            before = not self.started
            self.pending |= {p for p in new if p.name in _SHARED or not before}
        self.started = True
        for path in sorted(self.pending):
            if (connection := _open(path)) is not None:
                self.pending.discard(path)
                self.held[path] = connection
                if path.name not in _SHARED:
                    self._keep_shard(path)

    def _keep_shard(self, path: Path) -> None:
        self.shards.append(path)
        if len(self.shards) > _MAX_RUN_SHARDS:
            self.held.pop(self.shards.pop(0)).close()

    def close(self) -> None:
        for connection in self.held.values():
            connection.close()
        self.held.clear()


@contextmanager
def hold_sqlite_files(home: Path) -> Iterator[None]:
    """Hold a connection to each of Dagster's SQLite files under `home` (and each run's shard
    that appears meanwhile) until the block ends."""
    holder = _Holder(home)
    holder.look()  # what is there when the hold begins, before the block runs
    done = threading.Event()

    def watch() -> None:
        while True:
            holder.look()
            if done.wait(_POLL_SECONDS):
                return

    watcher = threading.Thread(target=watch, name="hold-sqlite-files", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        done.set()
        watcher.join()
        holder.close()
