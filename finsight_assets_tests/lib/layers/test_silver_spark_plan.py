"""The Spark silver job's plan and files: the repeated keys reach the raw scans as a broadcast (no
raw row is shuffled to meet them), are released after the job, and the staged files keep a
dictionary and min/max statistics only on the columns of few values."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from finsight_assets.dev.synthetic import generate_raw
from finsight_assets.lib.engines.lake import LocalLake
from finsight_assets.lib.layers import silver_spark
from finsight_assets.lib.layers.raw_files import inspect_partition
from finsight_assets.lib.layers.silver_inputs import read_usd_rates
from finsight_assets.lib.layers.silver_job import SilverJob
from finsight_assets.lib.tables.registry import SOURCES

DAY = date(2025, 3, 4)


@pytest.fixture(scope="module")
def lake(tmp_path_factory) -> LocalLake:
    root = tmp_path_factory.mktemp("spark-plan") / "lake"
    generate_raw(root, DAY, DAY, rows_per_day=2_000, seed=7)
    return LocalLake(root)


def _job(lake: LocalLake, transform: str, staging: Path) -> SilverJob:
    source = next(s for s in SOURCES if s.transform == transform)
    rates = read_usd_rates(lake, inspect_partition(lake, "fx_rates", DAY))
    return SilverJob(
        transform=transform,
        files_by_date={DAY: [f.uri for f in lake.raw_files(source.raw_table, DAY)]},
        staging_uri=str(staging),
        usd_rates={DAY: rates},
    )


@pytest.mark.parametrize("transform", ["transactions", "customers"])
def test_the_repeated_keys_are_broadcast_and_released(spark, lake, tmp_path, capsys, transform):
    job = _job(lake, transform, tmp_path / "staged")
    with silver_spark.outcomes(spark, job) as rows:
        assert spark.catalog.isCached(silver_spark.REPEATED_KEYS)
        rows.explain()
        plan = capsys.readouterr().out
        # Some keys repeat in the generated day: their rows are ranked, the others are not.
        assert rows.where("outcome IN ('DUPLICATE', 'SUPERSEDED')").count() > 0
    assert "BroadcastHashJoin" in plan
    assert "SortMergeJoin" not in plan and "ShuffledHashJoin" not in plan
    assert not spark.catalog.isCached(silver_spark.REPEATED_KEYS)


def test_the_staged_files_have_dictionaries_and_statistics_only_where_values_repeat(
    spark, lake, tmp_path
):
    job = _job(lake, "transactions", tmp_path / "staged")
    silver_spark.run_job(spark, job)
    encodings: dict[str, set[str]] = {}
    with_statistics: dict[str, bool] = {}
    for file in sorted(Path(job.staging_uri).glob("*.parquet")):
        metadata = pq.ParquetFile(file).metadata
        for group in range(metadata.num_row_groups):
            for i in range(metadata.num_columns):
                column = metadata.row_group(group).column(i)
                encodings.setdefault(column.path_in_schema, set()).update(column.encodings)
                with_statistics[column.path_in_schema] = column.is_stats_set
    dictionary = {
        name for name, used in encodings.items() if used & {"PLAIN_DICTIONARY", "RLE_DICTIONARY"}
    }
    assert {"business_date", "outcome", "event_type", "currency"} <= dictionary
    assert not dictionary & {"event_id", "transaction_id", "amount", "amount_usd", "event_ts"}
    assert all(with_statistics[name] for name in ("business_date", "outcome", "event_type"))
    assert not any(with_statistics[name] for name in ("event_id", "transaction_id", "event_ts"))
