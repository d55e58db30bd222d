"""Bad raw files as upstream could deliver them, written beside a day's good files."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq


def folder(lake: Path, table: str, day) -> Path:
    return lake / "raw" / table / f"business_date={day.isoformat()}"


def first_file(lake: Path, table: str, day) -> Path:
    return sorted(folder(lake, table, day).glob("*.parquet"))[0]


def read(lake: Path, table: str, day) -> pa.Table:
    return pq.read_table(first_file(lake, table, day))


def with_column(table: pa.Table, name: str, values: pa.Array) -> pa.Table:
    return table.set_column(table.schema.get_field_index(name), name, values)


def not_utf8(table: pa.Table, name: str, row: int = 0) -> pa.Table:
    """`table` with bytes that are not UTF-8 in one row of a text column (Arrow does not
    validate a binary array viewed as text, so the file is written as upstream would)."""
    values = table.column(name).combine_chunks().to_pylist()
    raw = [v.encode() if v is not None else None for v in values]
    raw[row] = b"bad \xff\xfe bytes"
    return with_column(table, name, pa.array(raw, pa.binary()).view(pa.string()))


def corrupt_pages(path: Path, source: pa.Table) -> None:
    """A file whose footer is valid and whose data pages are not: the footer check passes, a
    reader of the rows fails."""
    pq.write_table(source, path, compression="snappy")
    data = bytearray(path.read_bytes())
    footer_length = int.from_bytes(data[-8:-4], "little")
    body_end = len(data) - 8 - footer_length
    for i in range(4, body_end):
        data[i] = 0xA5 ^ (i & 0xFF)
    path.write_bytes(bytes(data))


def rates(table: pa.Table) -> dict[str, Decimal]:
    """An FX file's rates by currency."""
    return dict(
        zip(table.column("currency").to_pylist(), table.column("usd_rate").to_pylist(), strict=True)
    )


def money(values) -> pa.Array:
    return pa.array([Decimal(v) for v in values], pa.decimal128(18, 2))
