"""The lake: where raw partitions are read from and where staged and exported files go.

`LocalLake` is the embedded default (a folder); production adds an S3 flavour with the same
methods, so callers never build paths themselves.
"""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path


@dataclass(frozen=True)
class LakeFile:
    """One landed file: where it is, its name within the partition, its size and content digest."""

    uri: str
    name: str
    size: int
    digest: str


# Digests by (path, size, modification time): long-lived processes (the sensor daemon's code
# server) hash each landed file once, not on every tick.
_DIGESTS: dict[tuple[str, int, int], str] = {}


def sha256_of_file(path: Path, chunk_size: int = 1 << 20) -> str:
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if key not in _DIGESTS:
        _DIGESTS[key] = _sha256(path, chunk_size)
    return _DIGESTS[key]


def _sha256(path: Path, chunk_size: int) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def partition_folder(table: str, business_date: date) -> str:
    return f"{table}/business_date={business_date.isoformat()}"


@dataclass(frozen=True)
class LocalLake:
    """A lake on the local file system (`$FINSIGHT_HOME/lake`)."""

    root: Path

    @property
    def raw_root(self) -> str:
        return str(self.root / "raw")

    def raw_files(self, table: str, business_date: date) -> list[LakeFile]:
        """The Parquet files of one raw partition by name; none when the folder is missing."""
        folder = self.root / "raw" / partition_folder(table, business_date)
        if not folder.is_dir():
            return []
        files = sorted(
            path
            for path in folder.iterdir()
            if path.is_file() and path.name.endswith(".parquet") and not path.name.startswith(".")
        )
        return [
            LakeFile(
                uri=str(path), name=path.name, size=path.stat().st_size, digest=sha256_of_file(path)
            )
            for path in files
        ]

    def staging_uri(self, table: str, run_id: str) -> str:
        """A folder no reader looks at, private to one run, for one table's staged Parquet."""
        return str(self.root / "staging" / table / f"run={run_id}")

    def exports_dir(self) -> Path:
        return self.root / "exports"

    def remove_staging(self, uri: str) -> None:
        shutil.rmtree(uri, ignore_errors=True)
