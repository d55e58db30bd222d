"""Writing raw partitions atomically, and re-delivering corrected transaction files."""

import os
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq


def partition_dir(lake: Path, table: str, d: date) -> Path:
    return lake / "raw" / table / f"business_date={d.isoformat()}"


def write_partition(folder: Path, tables: list[pa.Table]) -> None:
    """Replace the partition's Parquet files by tables, one file each.

    Files are written under temporary names that readers ignore, then renamed into place.
    """
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob(".*.tmp"):
        stale.unlink()
    staged = []
    for index, table in enumerate(tables):
        final = folder / f"part-{index:03d}.parquet"
        temporary = folder / f".{final.name}.{os.getpid()}.tmp"
        pq.write_table(table, temporary, compression="zstd")
        staged.append((temporary, final))
    finals = {final for _, final in staged}
    for old in folder.glob("*.parquet"):
        if old not in finals:
            old.unlink()
    for temporary, final in staged:
        os.replace(temporary, final)


def remove_partition(folder: Path) -> None:
    """Remove a partition the generator previously wrote, keeping any foreign file."""
    if not folder.is_dir():
        return
    for old in [*folder.glob("*.parquet"), *folder.glob(".*.tmp")]:
        old.unlink()
    if not any(folder.iterdir()):
        folder.rmdir()


def redeliver_corrections(lake: Path, days: Sequence[date], delta: Decimal) -> list[Path]:
    """Upstream re-sends each day's first transactions file with every amount moved by `delta`.

    The file is replaced atomically, as a corrected delivery would land; returns the files.
    """
    replaced = []
    for d in days:
        files = sorted(partition_dir(lake, "transactions", d).glob("*.parquet"))
        if not files:
            continue
        table = pq.read_table(files[0])
        index = table.schema.get_field_index("amount")
        money = pa.decimal128(18, 2)
        moved = pc.add(table.column(index), pa.scalar(delta, money)).cast(money)
        temporary = files[0].with_name(f".{files[0].name}.{os.getpid()}.tmp")
        pq.write_table(table.set_column(index, "amount", moved), temporary, compression="zstd")
        os.replace(temporary, files[0])
        replaced.append(files[0])
    return replaced
