"""The lake: where raw partitions are read from and where staged and exported files go.

`LocalLake` is the embedded default (a folder); `S3Lake` (`s3_lake.py`) is production. Both
have the methods of `Lake`, so callers never build paths themselves.
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Protocol

import pyarrow as pa

from finsight_assets.lib.engines.file_digests import FileDigests, digests_at
from finsight_assets.lib.engines.owners import owner_alive, owner_tag


@dataclass(frozen=True)
class LakeFile:
    """One landed file: where it is, its name within the partition, its size and content digest,
    and when it last landed (None where the store does not say)."""

    uri: str
    name: str
    size: int
    digest: str
    modified_at: datetime | None = None


def partition_folder(table: str, business_date: date) -> str:
    return f"{table}/business_date={business_date.isoformat()}"


_PARTITION_FOLDER = re.compile(r"^business_date=(\d{4}-\d{2}-\d{2})$")


def folder_date(folder: str) -> date | None:
    """The business date of a `business_date=YYYY-MM-DD` folder name; None for anything else."""
    match = _PARTITION_FOLDER.match(folder)
    if match is None:
        return None
    try:
        return date.fromisoformat(match.group(1))
    except ValueError:
        return None


def is_data_file(name: str) -> bool:
    """A file of data: any name ending in `.parquet`, whatever its first character
    (docs/contract.md: `_late.parquet` is data); markers, checksums and temporary files are not."""
    return name.endswith(".parquet")


def unread_why(folder: str, names: list[str]) -> str | None:
    """Why a folder under a raw table gives no data (None: it is a partition with data): its
    name is not a valid `business_date=YYYY-MM-DD`, or it holds no `.parquet` file."""
    if folder_date(folder) is None:
        return "not a business_date=YYYY-MM-DD folder of a valid date: ignored"
    if not any(is_data_file(name) for name in names):
        return "holds no .parquet file: no data that day"
    return None


def hidden_from_spark(name: str) -> bool:
    """Whether Spark's file listing skips a file of this name, even when named explicitly
    (`_x` without an `=`, `.x`): silver reads such a raw file through an alias."""
    return (name.startswith("_") and "=" not in name) or name.startswith(".")


EXPORTS_FOLDER = "exports"

# Beside a run's staging, the aliases of the raw files Spark would not list (`hidden_from_spark`).
STAGING_INPUTS_SUFFIX = "-inputs"


class Lake(Protocol):
    """What the assets, the sensors and the backfill planner need from a lake."""

    def raw_files(self, table: str, business_date: date) -> list[LakeFile]: ...

    def raw_partitions(self, table: str) -> dict[date, list[LakeFile]]: ...

    def unread_folders(self, table: str) -> dict[str, str]: ...

    def open_input(self, uri: str) -> pa.NativeFile: ...

    def staging_uri(self, table: str, run_id: str) -> str: ...

    def parquet_files(self, uri: str) -> list[str]: ...

    def remove_staging(self, uri: str) -> None: ...

    def sweep_staging(self) -> list[str]: ...

    def alias(self, uri: str, alias_uri: str) -> None: ...

    def put_export(self, local_path: Path, name: str) -> str: ...


@dataclass(frozen=True)
class LocalLake:
    """A lake on the local file system (`$FINSIGHT_HOME/lake`)."""

    root: Path

    def raw_files(self, table: str, business_date: date) -> list[LakeFile]:
        """The Parquet files of one raw partition by name; none when the folder is missing."""
        files = self._files_in(self.root / "raw" / partition_folder(table, business_date))
        self._digests().save()
        return files

    def raw_partitions(self, table: str) -> dict[date, list[LakeFile]]:
        """Every raw partition of `table` that has files, by business date."""
        table_root = self.root / "raw" / table
        if not table_root.is_dir():
            return {}
        partitions = {}
        for folder in table_root.iterdir():
            d = folder_date(folder.name)
            if d is not None and (files := self._files_in(folder)):
                partitions[d] = files
        self._digests().save()
        return dict(sorted(partitions.items()))

    def unread_folders(self, table: str) -> dict[str, str]:
        """The folders under raw/`table` that give no data, each with why (see `unread_why`)."""
        table_root = self.root / "raw" / table
        if not table_root.is_dir():
            return {}
        return {
            folder.name: why
            for folder in sorted(table_root.iterdir())
            if folder.is_dir()
            and (why := unread_why(folder.name, [p.name for p in folder.iterdir()]))
        }

    def _digests(self) -> FileDigests:
        # The landed files' digests (`file_digests.py`): beside the lake, not in it (runs and
        # sensors never write into the lake's raw side).
        return digests_at(self.root.parent / f".{self.root.name}-digests.json")

    def _files_in(self, folder: Path) -> list[LakeFile]:
        if not folder.is_dir():
            return []
        digests = self._digests()
        files = []
        for path in sorted(p for p in folder.iterdir() if p.is_file() and is_data_file(p.name)):
            stat = path.stat()
            files.append(
                LakeFile(
                    uri=str(path),
                    name=path.name,
                    size=stat.st_size,
                    digest=digests.digest(path, stat),
                    modified_at=datetime.fromtimestamp(stat.st_mtime, UTC),
                )
            )
        return files

    def open_input(self, uri: str) -> pa.NativeFile:
        return pa.memory_map(uri)

    def staging_uri(self, table: str, run_id: str) -> str:
        """A folder no reader looks at, private to one run (and the process running it: see
        `sweep_staging`), for one table's staged Parquet."""
        return str(self.root / "staging" / table / f"run={run_id}.{owner_tag()}")

    def sweep_staging(self) -> list[str]:
        """Remove the staging folders whose owning process is gone (killed mid-run)."""
        swept = []
        for folder in sorted((self.root / "staging").glob("*/run=*")):
            owner = folder.name.rsplit(".", 1)[-1].removesuffix(STAGING_INPUTS_SUFFIX)
            if folder.is_dir() and not owner_alive(owner):
                shutil.rmtree(folder, ignore_errors=True)
                swept.append(str(folder))
        return swept

    def parquet_files(self, uri: str) -> list[str]:
        """The data files a job wrote under a staging uri, in name order."""
        folder = Path(uri)
        if not folder.is_dir():
            return []
        return sorted(str(p) for p in folder.rglob("*.parquet") if is_data_file(p.name))

    def exports_dir(self) -> Path:
        return self.root / EXPORTS_FOLDER

    def put_export(self, local_path: Path, name: str) -> str:
        """Move a finished export file into `exports/`; it appears whole or not at all."""
        target = self.exports_dir() / name
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.partial")
        shutil.move(local_path, partial)
        os.replace(partial, target)
        return str(target)

    def remove_staging(self, uri: str) -> None:
        shutil.rmtree(uri, ignore_errors=True)

    def alias(self, uri: str, alias_uri: str) -> None:
        """Make a file readable under another name (a symbolic link; the file is untouched)."""
        target = Path(alias_uri)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.unlink(missing_ok=True)
        target.symlink_to(Path(uri).resolve())
