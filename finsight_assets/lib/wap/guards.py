"""What a publish checks once it holds its tables' locks, and refuses on: another session at
work on the same tables (or holding their locks longer than a session waits), a chain
predecessor or a source partition republished meanwhile."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager

from finsight_assets.lib.engines.warehouse import Warehouse, WarehouseBusy, WriteConflict
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
    sees no other session's publish or rollback of them, and a concurrent one is a refusal (or,
    on Snowflake, waited for at most the session's lock wait, then `WarehouseBusy`)."""
    with warehouse.transaction(), refused_when_concurrent(table_names):
        # One table at a time, in `lock_tables`' order: a lock waited out names its table.
        for name in sorted(set(table_names)):
            try:
                lock_tables(warehouse, [name], run.run_id, run.clock)
            except WarehouseBusy as error:
                raise WarehouseBusy(
                    f"{name}: its publish lock is held by another session (a publish or "
                    f"rollback, or a killed worker's open transaction); {error}; nothing "
                    "changed: run again when it is released"
                ) from error
        yield


@contextmanager
def locked_for_publish(
    warehouse: Warehouse, table_names: Iterable[str], source_names: Iterable[str], run: RunInfo
) -> Iterator[None]:
    """`locked_transaction` over the tables a publish swaps and the tables their rows were
    computed from: no source is republished or rolled back until the swap commits. Every
    publish takes its locks so, the held publish of approved versions too."""
    with locked_transaction(warehouse, sorted({*table_names, *source_names}), run):
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
