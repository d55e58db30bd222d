"""Which raw partitions an observation reports, and with which data version."""

from __future__ import annotations

from datetime import date, timedelta

from finsight_assets.lib.engines.lake import LakeFile
from finsight_assets.lib.layers.raw_files import NO_DATA_VERSION, data_version, observed_versions

FIRST = date(2025, 3, 1)


def keys(days: int) -> list[str]:
    return [(FIRST + timedelta(days=n)).isoformat() for n in range(days)]


def test_days_up_to_the_latest_delivery_are_observed_gaps_included():
    file = LakeFile(uri="/lake/a.parquet", name="a.parquet", size=10, digest="d1")
    landed = {FIRST: [file], FIRST + timedelta(days=2): [file]}
    versions = observed_versions(landed, keys(30))
    assert list(versions) == keys(3)
    assert versions[keys(1)[0]] == data_version([file])
    assert versions[keys(2)[1]] == NO_DATA_VERSION


def test_a_redelivered_day_gets_a_new_version():
    before = LakeFile(uri="/lake/a.parquet", name="a.parquet", size=10, digest="d1")
    after = LakeFile(uri="/lake/a.parquet", name="a.parquet", size=10, digest="d2")
    first = observed_versions({FIRST: [before]}, keys(5))
    second = observed_versions({FIRST: [after]}, keys(5))
    assert first[FIRST.isoformat()] != second[FIRST.isoformat()]


def test_nothing_landed_nothing_observed():
    assert observed_versions({}, keys(30)) == {}
