"""Raw file digests, hashed once ever: kept across processes in the lake's sidecar, and a
changed file's digest changes even when its size and modification time do not."""

import os
import time
from datetime import date

import pytest

from finsight_assets.lib.engines import file_digests
from finsight_assets.lib.engines.file_digests import sha256
from finsight_assets.lib.engines.lake import LocalLake
from finsight_assets.lib.layers.raw_files import data_version

DAY = date(2025, 3, 1)


@pytest.fixture
def lake(tmp_path, monkeypatch):
    """A lake of one raw day with one file, in a process that has hashed nothing yet."""
    monkeypatch.setattr(file_digests, "_BY_SIDECAR", {})
    monkeypatch.setattr(file_digests, "SETTLED_SECONDS", 0.0)
    folder = tmp_path / "lake" / "raw" / "transactions" / f"business_date={DAY}"
    folder.mkdir(parents=True)
    (folder / "part-0.parquet").write_bytes(b"a" * 1000)
    return LocalLake(tmp_path / "lake")


def _new_process(monkeypatch) -> list:
    """Forget this process's digests, as a new process starts; return the files it hashes."""
    monkeypatch.setattr(file_digests, "_BY_SIDECAR", {})
    hashed = []
    monkeypatch.setattr(file_digests, "sha256", lambda p: hashed.append(p) or sha256(p))
    return hashed


def test_a_file_is_hashed_once_across_processes(lake, monkeypatch):
    first = data_version(lake.raw_files("transactions", DAY))
    assert (lake.root.parent / ".lake-digests.json").is_file()
    assert not [p for p in lake.root.rglob("*") if "digests" in p.name]
    hashed = _new_process(monkeypatch)
    assert data_version(lake.raw_files("transactions", DAY)) == first
    assert lake.raw_partitions("transactions")[DAY][0].digest == sha256(
        lake.root / "raw" / "transactions" / f"business_date={DAY}" / "part-0.parquet"
    )
    assert hashed == []


@pytest.mark.parametrize("mtime", ["bumped", "put back"])
def test_a_rewrite_of_the_same_size_changes_the_version(lake, monkeypatch, mtime):
    path = next(lake.root.rglob("*.parquet"))
    first = data_version(lake.raw_files("transactions", DAY))
    before = path.stat()
    time.sleep(0.05)  # past the file system's time stamp resolution
    path.write_bytes(b"b" * 1000)
    if mtime == "bumped":
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns + 1_000_000_000))
    else:
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert path.stat().st_size == before.st_size
    _new_process(monkeypatch)
    assert data_version(lake.raw_files("transactions", DAY)) != first
    _new_process(monkeypatch)
    assert data_version(lake.raw_files("transactions", DAY)) != first


def test_a_file_changed_just_before_it_was_hashed_is_not_kept(lake, monkeypatch):
    monkeypatch.setattr(file_digests, "SETTLED_SECONDS", 3600.0)
    lake.raw_files("transactions", DAY)
    hashed = _new_process(monkeypatch)
    lake.raw_files("transactions", DAY)
    lake.raw_files("transactions", DAY)
    assert len(hashed) == 2
