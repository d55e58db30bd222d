"""What a publish checks once it holds its tables' locks, and refuses on: another session at
work on the same tables, a chain predecessor or a source partition republished meanwhile."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from finsight_assets.lib.engines.warehouse import Warehouse, WriteConflict
from finsight_assets.lib.wap.model import (
    ConcurrentPublish,
    PredecessorChanged,
    RunInfo,
    StagedPartitions,
)
from finsight_assets.lib.wap.versions import current_versions, latest_published_dates, lock_tables


@contextmanager
def refused_when_concurrent(table_names: Sequence[str]) -> Iterator[None]:
    """Turn a write conflict (DuckDB refuses a second writer of a lock row) into a refusal."""
    try:
        yield
    except WriteConflict as error:
        raise ConcurrentPublish(
            f"another session is publishing or rolling back {', '.join(table_names)} right "
            "now; nothing was published: run again when it is done"
        ) from error


@contextmanager
def locked_transaction(
    warehouse: Warehouse, table_names: Sequence[str], run: RunInfo
) -> Iterator[None]:
    """One transaction whose first statement takes the tables' publish locks: what runs inside
    sees no other session's publish or rollback of them, and a concurrent one is a refusal."""
    with warehouse.transaction(), refused_when_concurrent(table_names):
        lock_tables(warehouse, table_names, run.run_id, run.clock)
        yield


def check_sources(warehouse: Warehouse, staged: StagedPartitions) -> None:
    for source, read in staged.sources.items():
        now = current_versions(warehouse, source, sorted(read))
        moved = sorted(d for d, version in read.items() if now.get(d) != version)
        if moved:
            raise PredecessorChanged(
                f"{source} was republished for {', '.join(d.isoformat() for d in moved)} while "
                f"{staged.table.qualified_name} was computed from it; nothing was published: "
                "recompute it"
            )


def check_chain(warehouse: Warehouse, staged: StagedPartitions) -> None:
    name = staged.table.qualified_name
    if staged.rolls_forward:
        latest = latest_published_dates(warehouse).get(name)
        if latest is not None and latest > staged.dates[-1]:
            raise PredecessorChanged(
                f"{name} {latest} was published while {staged.dates[0]}..{staged.dates[-1]} "
                "was computed; it was computed from what this would replace, so nothing was "
                "published: run again to roll forward to it"
            )
    if staged.predecessor is None:
        return
    predecessor_date, expected = staged.predecessor
    now = current_versions(warehouse, name, [predecessor_date]).get(predecessor_date)
    if now != expected:
        raise PredecessorChanged(
            f"{name} {predecessor_date} was republished (version {expected} -> {now}) "
            "while the following partitions were computed from it; recompute them"
        )
