"""The raw assets in the Dagster UI: the days that landed read as such, each with its files,
rows and data version; a gap before the latest delivery does not."""

from __future__ import annotations

import re
import shutil
from datetime import date, timedelta

import dagster as dg
import pyarrow.parquet as pq
import pytest

from finsight_assets.cli.materialize import prepare_instance
from finsight_assets.defs.build import build_definitions
from finsight_assets.defs.partitions import daily_partitions
from finsight_assets.defs.raw.report import report_raw
from finsight_assets.dev.synthetic import generate_raw
from finsight_assets.lib.engines.lake import LocalLake
from finsight_assets.lib.layers.raw_files import data_version
from finsight_assets.lib.settings import Settings
from finsight_assets_tests.browser import browser_page, click_past_popups, snapshot, webserver

S = date(2025, 3, 1)
LAST = S + timedelta(days=4)
GAP = S + timedelta(days=2)


def day(n: int) -> date:
    return S + timedelta(days=n)


@pytest.fixture(params=["observe_raw job", "without a run"])
def observed(request, tmp_path, monkeypatch):
    """Five days delivered but the third withdrawn, observed once into the home's instance: by
    the `observe_raw` job, or without a run as `finsight materialize` records them."""
    monkeypatch.setenv("FINSIGHT_HOME", str(tmp_path))
    monkeypatch.setenv("FINSIGHT_START_DATE", S.isoformat())
    generate_raw(tmp_path / "lake", S, LAST, rows_per_day=50, seed=3)
    shutil.rmtree(tmp_path / "lake" / "raw" / "transactions" / f"business_date={GAP}")
    settings = Settings.from_env()
    instance = prepare_instance(settings)
    if request.param == "without a run":
        report_raw(instance, LocalLake(tmp_path / "lake"), daily_partitions(S).get_partition_keys())
        return tmp_path, instance
    result = (
        build_definitions(settings)
        .resolve_job_def("observe_raw")
        .execute_in_process(instance=instance)
    )
    assert result.success
    return tmp_path, instance


def test_each_landed_day_is_reported_with_its_files_rows_and_data_version(observed):
    home, instance = observed
    key = dg.AssetKey(["raw", "transactions"])
    records = instance.fetch_materializations(key, limit=100).records
    landed = {r.partition_key: r.asset_materialization for r in records}
    assert sorted(landed) == [d.isoformat() for d in (day(0), day(1), day(3), day(4))]
    lake = LocalLake(home / "lake")
    files = lake.raw_files("transactions", day(1))
    event = landed[day(1).isoformat()]
    rows = sum(pq.read_metadata(f.uri).num_rows for f in files)
    assert event.metadata["rows"].value == rows > 0
    assert event.metadata["files"].value == len(files)
    assert event.tags["dagster/data_version"] == data_version(files)


def test_the_raw_partitions_page_shows_the_landed_days_not_missing(observed):
    home, _ = observed
    with webserver(home, S.isoformat()) as url, browser_page() as page:
        page.goto(f"{url}/assets/raw/transactions?view=partitions")
        page.get_by_text(re.compile(r"Materialized \(\d+\)")).first.wait_for(timeout=60_000)
        body = page.inner_text("body")
        page.get_by_placeholder("Filter by name").fill(day(1).isoformat())
        click_past_popups(page, page.get_by_text(day(1).isoformat(), exact=True).first)
        page.get_by_text("data_version", exact=True).first.wait_for(timeout=30_000)
        landed = page.inner_text("body")
        snapshot(page, None, "raw-partition-day")
    assert "Materialized (4)" in body, body
    assert re.search(r"Missing \(\d+\)", body), body
    version = data_version(LocalLake(home / "lake").raw_files("transactions", day(1)))
    for shown in ("files", "rows", "data_version", version):
        assert shown in landed, landed
