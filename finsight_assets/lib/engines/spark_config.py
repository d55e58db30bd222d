"""Spark settings of the embedded default, shared by the Dagster resource and the tests."""

from __future__ import annotations

from collections.abc import Mapping

# Small shuffles and no UI: a laptop's Spark should spend its time on the data. Adaptive
# execution coalesces the few shuffle partitions further; timestamps are UTC instants.
LOCAL_SPARK_CONFIG: Mapping[str, str] = {
    "spark.master": "local[*]",
    "spark.app.name": "finsight",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.shuffle.partitions": "4",
    "spark.sql.adaptive.enabled": "true",
    # Raw files are read in splits of at most 16 MB (a row group goes whole to the split that
    # holds its middle): at Spark's 128 MB a 300 MB file is three tasks, one core idle for a
    # third of each scan on two cores.
    "spark.sql.files.maxPartitionBytes": "16m",
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
    # The staged rows are read once, whole, by the warehouse: snappy's files are about 50% larger
    # than zstd's, but writing them costs about 0.3 us less CPU per row (the staged write alone,
    # 1M rows: 1.83 -> 1.54 us/row; the 10M-row day's query and write: 49.4 -> 41.6 CPU-s).
    "spark.sql.parquet.compression.codec": "snappy",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.log.level": "ERROR",
    # The JVM grows to its heap whatever the data needs: 2g bounds a laptop run (Spark spills).
    "spark.driver.memory": "2g",
    "spark.sql.sources.partitionOverwriteMode": "static",
    # Arithmetic that overflows fails instead of giving NULL, whatever the Spark release's
    # default; silver checks amount_usd's range itself.
    "spark.sql.ansi.enabled": "true",
    # Raw folders are read as plain files: a stale Hadoop `.crc` beside a data file is not data
    # and must not fail its day (docs/contract.md).
    "spark.hadoop.fs.file.impl": "org.apache.hadoop.fs.RawLocalFileSystem",
}

# Backfill runs may take more of the machine for longer; the daily lane keeps the defaults.
BACKFILL_SPARK_CONFIG: Mapping[str, str] = {
    **LOCAL_SPARK_CONFIG,
    "spark.sql.shuffle.partitions": "8",
}
