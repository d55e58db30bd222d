"""Silver's Spark job alone, as EMR Serverless runs it: `silver_spark.run_job` on a local Spark
session (the backfill lane's settings), over one generated day (10M rows by default, generated
once and kept under benchmarks/data), each source's job timed alone, median of repeats after a
warm-up run on a 1M-row day. Its rate in raw rows per second per core (the local Spark's cores)
is what `SCALE.md` sizes EMR from. Beside it, from the raw files' Parquet footers, the bytes
Spark reads: the compressed bytes of the contract's columns per raw row (what S3 serves it),
against the files' whole size. The jobs' CPU time in the local Spark's JVM is printed too:
waiting for a core costs wall time, not CPU time, so it is less affected by other work on the
machine.

    python -m benchmarks.bench_spark_job [--rows 10000000] [--repeats 3]
"""

from __future__ import annotations

import dataclasses
import shutil
import statistics
from datetime import date
from pathlib import Path

import psutil
import pyarrow.parquet as pq

from benchmarks.common import arguments, cached_lake, print_table, scratch, timed, write_result
from benchmarks.spark_session import spark_session
from finsight_assets.lib.contract.tables import RAW_SCHEMAS
from finsight_assets.lib.engines.lake import LocalLake
from finsight_assets.lib.layers.silver_job import SilverJob
from finsight_assets.lib.tables.registry import SOURCES

DAY = date(2025, 3, 4)
# The Spark job alone must compute at least this many raw rows per second per core.
TARGET_ROWS_PER_SECOND_PER_CORE = 300_000
WARM_UP_ROWS = 1_000_000


def contract_bytes(lake: LocalLake, table: str, day: date) -> dict[str, int]:
    """A raw partition's rows, its files' bytes and the compressed bytes of the contract's
    columns (what a reader that asks for those columns fetches), from the footers."""
    wanted = set(RAW_SCHEMAS[table].names)
    rows = file_bytes = column_bytes = 0
    for file in lake.raw_files(table, day):
        metadata = pq.ParquetFile(file.uri).metadata
        rows += metadata.num_rows
        file_bytes += Path(file.uri).stat().st_size
        for group in range(metadata.num_row_groups):
            row_group = metadata.row_group(group)
            for column in range(row_group.num_columns):
                chunk = row_group.column(column)
                if chunk.path_in_schema.split(".")[0] in wanted:
                    column_bytes += chunk.total_compressed_size
    return {"rows": rows, "file_bytes": file_bytes, "contract_column_bytes": column_bytes}


def usd_rates(lake: LocalLake, day: date) -> dict:
    """The day's USD rates as silver hands them to its job."""
    from finsight_assets.lib.layers import silver_inputs
    from finsight_assets.lib.layers.raw_files import inspect_partition

    return {day: silver_inputs.read_usd_rates(lake, inspect_partition(lake, "fx_rates", day))}


def jvm_cpu_seconds() -> float:
    """The CPU seconds (user and system) this process's Spark JVM, its java child, has used."""
    java = [p for p in psutil.Process().children(recursive=True) if p.name() == "java"]
    return sum(p.cpu_times().user + p.cpu_times().system for p in java)


def main() -> None:
    args = arguments(__doc__, rows=10_000_000).parse_args()
    with scratch("spark") as root:
        measure(root, args.rows, args.repeats)


def measure(root: Path, rows: int, repeats: int) -> None:
    generated_s, lake_root = timed(lambda: cached_lake(DAY, DAY, rows))
    lake = LocalLake(lake_root)
    from finsight_assets.lib.layers.silver_spark import run_job

    # The rates travel in the job where the job still takes them (a SQL silver may read them).
    takes_rates = "usd_rates" in {f.name for f in dataclasses.fields(SilverJob)}
    rates = {"usd_rates": usd_rates(lake, DAY)} if takes_rates else {}
    # The session is warmed up (JVM, JIT, file system) on a smaller day of the same shape.
    warm_up = LocalLake(cached_lake(DAY, DAY, min(rows, WARM_UP_ROWS)))
    spark = spark_session()
    n = spark.sparkContext.defaultParallelism
    runs = iter(range(1000))

    def job_of(source, day_lake: LocalLake = lake) -> SilverJob:
        # The generator writes no file Spark's listing would skip (`_late.parquet`): no aliases.
        files = {DAY: [f.uri for f in day_lake.raw_files(source.raw_table, DAY)]}
        staging = str(root / f"staged-{next(runs)}")
        return SilverJob(
            transform=source.transform, files_by_date=files, staging_uri=staging, **rates
        )

    def seconds_of(source, day_lake: LocalLake = lake) -> tuple[float, float]:
        """The job's wall seconds and its JVM CPU seconds."""
        job = job_of(source, day_lake)
        cpu = jvm_cpu_seconds()
        spent, _ = timed(lambda: run_job(spark, job))
        cpu = jvm_cpu_seconds() - cpu
        shutil.rmtree(job.staging_uri, ignore_errors=True)
        return spent, cpu

    seconds: dict[str, list[float]] = {}
    cpu_seconds: dict[str, list[float]] = {}
    try:
        for source in SOURCES:
            seconds_of(source, warm_up)  # not measured
            samples = [seconds_of(source) for _ in range(repeats)]
            seconds[source.transform] = [wall for wall, _ in samples]
            cpu_seconds[source.transform] = [cpu for _, cpu in samples]
    finally:
        spark.stop()
    medians = {name: statistics.median(samples) for name, samples in seconds.items()}
    cpu_medians = {name: statistics.median(samples) for name, samples in cpu_seconds.items()}
    tables = dict.fromkeys(table for source in SOURCES for table in source.raw_tables)
    raw = {table: contract_bytes(lake, table, DAY) for table in tables}
    transactions = raw["transactions"]["rows"]
    total_s = sum(medians.values())
    rate = transactions / total_s / n
    print_table(
        f"Silver's Spark job alone (run_job), {transactions:,} raw transactions, local Spark on "
        f"{n} cores, warm, median of {repeats} (the day generated or found in {generated_s:.0f} s)",
        ["job", "seconds", "raw transactions/s/core", "JVM CPU s", "JVM CPU us/raw row"],
        [
            *(
                (
                    name,
                    s,
                    transactions / s / n,
                    cpu_medians[name],
                    cpu_medians[name] / transactions * 1e6,
                )
                for name, s in medians.items()
            ),
            (
                "all of the day's jobs",
                total_s,
                rate,
                sum(cpu_medians.values()),
                sum(cpu_medians.values()) / transactions * 1e6,
            ),
        ],
    )
    print_table(
        "What Spark reads from the raw files (Parquet footers)",
        ["raw table", "rows", "file MB", "contract columns MB", "bytes per raw transaction"],
        [
            (
                table,
                r["rows"],
                r["file_bytes"] / 1e6,
                r["contract_column_bytes"] / 1e6,
                r["contract_column_bytes"] / transactions,
            )
            for table, r in raw.items()
        ],
    )
    met = "met" if rate >= TARGET_ROWS_PER_SECOND_PER_CORE else "NOT met"
    print(
        f"\ntarget: the Spark job alone >= {TARGET_ROWS_PER_SECOND_PER_CORE:,} raw rows/s per "
        f"core; measured {rate:,.0f} ({met})"
    )
    write_result(
        "spark_job",
        {
            "raw_rows": transactions,
            "spark_cores": n,
            "repeats": repeats,
            "seconds": seconds,
            "median_seconds": medians,
            "rows_per_second_per_core": rate,
            "jvm_cpu_seconds": cpu_seconds,
            "jvm_cpu_us_per_raw_row": sum(cpu_medians.values()) / transactions * 1e6,
            "raw_files": raw,
            "contract_bytes_per_raw_row": sum(r["contract_column_bytes"] for r in raw.values())
            / transactions,
            "file_bytes_per_raw_row": sum(r["file_bytes"] for r in raw.values()) / transactions,
        },
    )


if __name__ == "__main__":
    main()
