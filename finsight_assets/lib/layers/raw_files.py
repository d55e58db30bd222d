"""Raw partitions: their files, their data version, and the checks a file must pass to be read."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

import pyarrow as pa
import pyarrow.parquet as pq

from finsight_assets.lib.contract.tables import RAW_SCHEMAS
from finsight_assets.lib.engines.lake import Lake, LakeFile

NO_DATA_VERSION = "no-data"
_UTC_NAMES = {"UTC", "Etc/UTC", "+00:00", "Z"}


class RawFileError(ValueError):
    """A raw file that cannot be read as the contract says; names the file and the problem."""

    def __init__(self, uri: str, problem: str):
        super().__init__(f"{uri}: {problem}")
        self.uri = uri
        self.problem = problem


@dataclass(frozen=True)
class RawPartition:
    """One raw table's files for one business date, already checked against the contract."""

    table: str
    business_date: date
    files: tuple[LakeFile, ...]
    rows: int

    @property
    def version(self) -> str:
        return data_version(self.files)


def data_version(files: Sequence[LakeFile]) -> str:
    """A hash of the partition's file names, sizes and contents: changes on any re-delivery."""
    if not files:
        return NO_DATA_VERSION
    digest = hashlib.sha256()
    for file in sorted(files, key=lambda f: f.name):
        digest.update(f"{file.name}\0{file.size}\0{file.digest}\n".encode())
    return digest.hexdigest()[:16]


def observed_versions(
    landed: Mapping[date, Sequence[LakeFile]], partition_keys: Sequence[str]
) -> dict[str, str]:
    """The data version of each partition up to the latest day that has files.

    A day without files before that is a gap, observed as such; the days after it have had
    nothing delivered yet and are not observed (their versions could only repeat "no data",
    one event per day since the start date, on every observation).
    """
    if not landed:
        return {}
    latest = max(landed)
    return {
        key: data_version(landed.get(date.fromisoformat(key), []))
        for key in partition_keys
        if date.fromisoformat(key) <= latest
    }


def landed_days_metadata(
    landed: Mapping[date, Sequence[LakeFile]], observed: Mapping[str, str]
) -> dict[str, object]:
    """What an observation says of a raw table: which days have files, and the observed days
    without any (gaps before the latest delivery)."""
    with_files = sorted(d for d, files in landed.items() if files)
    gaps = sorted(key for key in observed if date.fromisoformat(key) not in set(with_files))
    return {
        "days_with_files": len(with_files),
        "first_day": with_files[0].isoformat() if with_files else "none",
        "last_day": with_files[-1].isoformat() if with_files else "none",
        "observed_days": len(observed),
        "days_without_files": ", ".join(gaps) if gaps else "none",
    }


@dataclass(frozen=True)
class LandedDay:
    """What an observation reports of one day that landed: its files, its rows (from the
    Parquet footers), its data version (`observed_versions`), or why its files are unreadable."""

    business_date: date
    files: int
    rows: int | None
    version: str
    problem: str | None = None

    def metadata(self) -> dict[str, object]:
        told: dict[str, object] = {"files": self.files, "data_version": self.version}
        if self.rows is not None:
            told["rows"] = self.rows
        if self.problem is not None:
            told["unreadable"] = self.problem
        return told


def landed_days(
    lake: Lake,
    table: str,
    landed: Mapping[date, Sequence[LakeFile]],
    observed: Mapping[str, str],
) -> list[LandedDay]:
    """Each observed day that has files, with its footers' row count and its data version; a
    day whose files break the contract is still reported, saying why it cannot be read."""
    days = []
    for key, version in sorted(observed.items()):
        files = landed.get(date.fromisoformat(key), [])
        if not files:
            continue
        try:
            rows: int | None = sum(check_file(lake, table, file) for file in files)
            problem = None
        except RawFileError as error:
            rows, problem = None, str(error)
        days.append(LandedDay(date.fromisoformat(key), len(files), rows, version, problem))
    return days


def combine_versions(*versions: str) -> str:
    """One version for a computation that read several inputs, in the order given."""
    return hashlib.sha256("|".join(versions).encode()).hexdigest()[:16]


def _type_matches(actual: pa.DataType, expected: pa.DataType) -> bool:
    if pa.types.is_string(expected):
        return pa.types.is_string(actual) or pa.types.is_large_string(actual)
    if pa.types.is_timestamp(expected):
        return (
            pa.types.is_timestamp(actual)
            and actual.unit in ("ms", "us")
            and actual.tz in _UTC_NAMES
        )
    return actual == expected


def read_footer(lake: Lake, uri: str) -> pq.FileMetaData:
    """A Parquet file's footer (schema and row count), without reading its rows."""
    with lake.open_input(uri) as handle:
        return pq.read_metadata(handle)


def check_file(lake: Lake, table: str, file: LakeFile) -> int:
    """Check one file's schema against the contract; return its row count from the footer."""
    expected = RAW_SCHEMAS[table]
    try:
        metadata = read_footer(lake, file.uri)
        schema = metadata.schema.to_arrow_schema()
    except (OSError, pa.ArrowException) as error:
        raise RawFileError(file.uri, f"unreadable Parquet file ({error})") from error
    missing = [name for name in expected.names if name not in schema.names]
    if missing:
        raise RawFileError(file.uri, f"missing column(s) {', '.join(missing)}")
    for field in expected:
        actual = schema.field(field.name).type
        if not _type_matches(actual, field.type):
            raise RawFileError(
                file.uri, f"column {field.name} has type {actual}, the contract says {field.type}"
            )
    return metadata.num_rows


def inspect_partition(lake: Lake, table: str, business_date: date) -> RawPartition:
    """List and check one raw partition; raises RawFileError for the first bad file."""
    files = tuple(lake.raw_files(table, business_date))
    rows = sum(check_file(lake, table, file) for file in files)
    return RawPartition(table=table, business_date=business_date, files=files, rows=rows)
