"""The silver transforms on Spark: the raw files and the day's rates as temporary views, the
silver SQL (`silver_sql`, Spark's dialect) over them, the outcome rows written as Parquet.

The same code runs in a local session and on EMR Serverless (`jobs/silver_entry.py`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date
from functools import reduce

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from finsight_assets.lib.contract import tables as contract
from finsight_assets.lib.layers.silver_job import SilverJob
from finsight_assets.lib.layers.silver_sql import (
    PYTHON_WHITESPACE,
    RAW_ROWS,
    SPARK,
    USD_RATES,
    repeated_keys_sql,
    silver_sql,
)
from finsight_assets.lib.tables.registry import SOURCES

__all__ = ["PYTHON_WHITESPACE", "outcomes", "run_job", "spark_schema"]

_SPARK_TYPES = {
    "string": T.StringType(),
    "decimal128(18, 2)": T.DecimalType(18, 2),
    "decimal128(18, 8)": T.DecimalType(18, 8),
    "timestamp[us, tz=UTC]": T.TimestampType(),
}
REPEATED_KEYS = "repeated_keys"
_RAW_TABLES = {source.transform: source.raw_table for source in SOURCES}


def spark_schema(table: str) -> T.StructType:
    """The contract's columns of a raw table as a Spark schema (extra file columns are ignored)."""
    return T.StructType(
        [
            T.StructField(field.name, _SPARK_TYPES[str(field.type)], nullable=True)
            for field in contract.RAW_SCHEMAS[table]
        ]
    )


def read_raw(
    spark: SparkSession, table: str, files_by_date: Mapping[date, Sequence[str]]
) -> DataFrame:
    """The rows of the given raw files, with the business_date of the folder each came from and
    the file itself (`source_file`)."""
    # Each date's files are read with the date as a literal: the folder's date is a per-file
    # constant, and extracting it from every row's path cost a regexp per row and scan.
    days = [
        spark.read.schema(spark_schema(table))
        .parquet(*files_by_date[d])
        .select(
            "*", F.lit(d).alias("business_date"), F.col("_metadata.file_path").alias("source_file")
        )
        for d in sorted(files_by_date)
    ]
    return reduce(DataFrame.unionAll, days)


_RATE_ROW = T.StructType(
    [
        T.StructField("business_date", T.DateType(), False),
        T.StructField("currency", T.StringType(), False),
        T.StructField("listed_usd_rate", T.DecimalType(18, 8), False),
    ]
)


def rates(spark: SparkSession, usd_rates: Mapping[date, Mapping[str, object]]) -> DataFrame:
    """The day's USD rates as a small frame of literals (exact decimals). Not createDataFrame
    from a Python list: in a local session that starts Python workers to unpickle the rows."""
    rows = [
        F.struct(F.lit(d), F.lit(currency), F.lit(rate))
        for d, by_currency in sorted(usd_rates.items())
        for currency, rate in sorted(by_currency.items())
    ]
    listed = F.array(*rows).cast(T.ArrayType(_RATE_ROW))
    return spark.range(1).select(F.inline(listed))


@contextmanager
def outcomes(spark: SparkSession, job: SilverJob) -> Iterator[DataFrame]:
    """Every raw row of the job's files with its outcome: the silver SQL over temporary views
    of the raw rows, the rates and the repeated keys (computed first, held while in use)."""
    read_raw(spark, _RAW_TABLES[job.transform], job.files_by_date).createOrReplaceTempView(RAW_ROWS)
    rates(spark, job.usd_rates).createOrReplaceTempView(USD_RATES)
    # The few repeated keys are computed and held before the query is planned: knowing their
    # size, Spark broadcasts them to the scans of the raw rows when small, where a join planned
    # blind shuffles every raw row (twice: once per branch of the dedup) to meet them.
    repeated = spark.sql(repeated_keys_sql(job.transform, SPARK)).cache()
    try:
        repeated.count()
        repeated.createOrReplaceTempView(REPEATED_KEYS)
        yield spark.sql(silver_sql(job.transform, SPARK, REPEATED_KEYS))
    finally:
        repeated.unpersist()


# Parquet's dictionary encoding pays on columns of few distinct values; on a column with a value
# per row (ids, instants, amounts) it fills a dictionary only to abandon it (JVM CPU of the
# transactions query and write: 9.0 s -> 6.8 s on the 1M-row day, 59.4 s -> 54.0 s on the 10M-row
# day; files 5% larger). Those columns carry no min/max statistics either: the warehouse loads the
# staged files whole, once, and never skips a page by them, while comparing every id with the
# page's and the chunk's bounds was about 9% of the transactions job's JVM samples.
_DICTIONARY_COLUMNS = frozenset(
    (
        "business_date",
        "outcome",
        "event_type",
        "currency",
        "merchant_category",
        "usd_rate",
        "reason_code",
        "source_file",
        "problem",
        "country",
        "segment",
        "kyc_status",
    )
)


def parquet_options(columns: Sequence[str]) -> dict[str, str]:
    """The staged files' Parquet writer options: a dictionary and min/max statistics only for
    the columns of few values."""
    return {
        "parquet.enable.dictionary": "false",
        **{
            f"parquet.enable.dictionary#{name}": "true"
            for name in columns
            if name in _DICTIONARY_COLUMNS
        },
        **{
            f"parquet.column.statistics.enabled#{name}": "false"
            for name in columns
            if name not in _DICTIONARY_COLUMNS
        },
    }


def write_staged(frame: DataFrame, uri: str) -> None:
    """Write a transform's rows as Parquet files under a run's staging uri.

    `business_date` stays a column in the files (no folder per date): the write needs no sort,
    and a warehouse can load the files by column name (Snowflake's COPY INTO reads no folders).
    """
    frame.write.options(**parquet_options(frame.columns)).mode("overwrite").parquet(uri)


def run_job(spark: SparkSession, job: SilverJob) -> None:
    """Run one silver job: write every row of its raw files with its outcome."""
    with outcomes(spark, job) as rows:
        write_staged(rows, job.staging_uri)


def outcome_counts(spark: SparkSession, uri: str) -> dict[str, dict[str, int]]:
    """Rows per business date and outcome of a staged job (a small aggregate, for reporting)."""
    rows = spark.read.parquet(uri).groupBy("business_date", "outcome").count().collect()
    counts: dict[str, dict[str, int]] = {}
    for row in rows:
        counts.setdefault(row["business_date"].isoformat(), {})[row["outcome"]] = row["count"]
    return counts
