"""Layer throughput at FinSight's per-day shape: silver (Spark) and gold (warehouse SQL) against
the cost of reading the same raw partition once, with Spark and with DuckDB.

    python -m benchmarks.bench_layers [--rows 1000000] [--repeats 3]
    python -m benchmarks.bench_layers --rows 10000000 --layers-only --result layers_big

`--layers-only` measures the layers and their yardsticks, not the breakdown of silver's Spark
job nor its profile (the big day's run, `make bench-big`).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import shutil
import tempfile
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from benchmarks.common import cores, median_seconds, print_table, write_result
from benchmarks.plain_duckdb import build as plain_duckdb
from finsight_assets.dev.synthetic import generate_raw
from finsight_assets.lib.contract.run_tags import LIVE
from finsight_assets.lib.contract.tables import RAW_SCHEMAS
from finsight_assets.lib.engines.duckdb_warehouse import duckdb_connector
from finsight_assets.lib.engines.lake import LocalLake
from finsight_assets.lib.engines.spark import LocalSparkEngine
from finsight_assets.lib.engines.spark_config import BACKFILL_SPARK_CONFIG
from finsight_assets.lib.layers import gold, silver, silver_inputs
from finsight_assets.lib.tables.gold_account_daily_balance import GOLD_ACCOUNT_DAILY_BALANCE
from finsight_assets.lib.tables.gold_daily_customer_summary import GOLD_DAILY_CUSTOMER_SUMMARY
from finsight_assets.lib.tables.gold_segment_daily_report import GOLD_SEGMENT_DAILY_REPORT
from finsight_assets.lib.tables.silver_customers import CUSTOMER_SNAPSHOTS
from finsight_assets.lib.tables.silver_transactions import TRANSACTION_EVENTS
from finsight_assets.lib.wap.model import RunInfo

DAY = date(2025, 3, 4)
# silver + gold may cost at most this many times a Spark scan, and a plain DuckDB run, of the day.
TARGET_RATIO = 3.0


def spark_session():
    from pyspark.sql import SparkSession

    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    builder = SparkSession.builder
    for key, value in BACKFILL_SPARK_CONFIG.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--layers-only", action="store_true")
    parser.add_argument("--result", default="layers", help="benchmarks/results/<RESULT>.json")
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="finsight-bench-layers-"))
    try:
        run(home, args.rows, args.repeats, args.layers_only, args.result)
    finally:
        shutil.rmtree(home, ignore_errors=True)


def run(home: Path, rows: int, repeats: int, layers_only: bool, result: str) -> None:
    lake = LocalLake(home / "lake")
    generate_raw(lake.root, DAY, DAY, rows_per_day=rows, seed=7)
    files = [f.uri for f in lake.raw_files("transactions", DAY)]
    raw_rows = sum(pq.ParquetFile(f).metadata.num_rows for f in files)
    spark = spark_session()
    spark.read.parquet(*files).count()  # JVM warm-up, not measured

    def spark_scan():
        from finsight_assets.lib.layers.silver_spark import spark_schema

        spark.read.schema(spark_schema("transactions")).parquet(*files).write.format("noop").mode(
            "overwrite"
        ).save()

    def duckdb_scan():
        # A hash of every value: MIN or MAX would be answered from the Parquet statistics.
        columns = ", ".join(RAW_SCHEMAS["transactions"].names)
        duckdb.sql(
            f"SELECT COUNT(*), BIT_XOR(HASH({columns})) FROM read_parquet({files!r})"
        ).fetchall()

    from finsight_assets.lib.layers import silver_spark
    from finsight_assets.lib.layers.raw_files import inspect_partition

    rates = {DAY: silver_inputs.read_usd_rates(lake, inspect_partition(lake, "fx_rates", DAY))}

    def spark_transform():
        frame = silver_spark.transaction_outcomes(spark, {DAY: files}, rates)
        frame.write.format("noop").mode("overwrite").save()

    def spark_transform_and_write():
        silver_spark.write_staged(
            silver_spark.transaction_outcomes(spark, {DAY: files}, rates), str(home / "staged")
        )

    connect = duckdb_connector(home / "warehouse.duckdb")

    counter = iter(range(10_000))

    def run_info() -> RunInfo:
        return RunInfo(f"bench-{next(counter)}", LIVE, datetime(2025, 3, 5, tzinfo=UTC))

    def silver_layer():
        run = run_info()
        silver.build_silver(
            TRANSACTION_EVENTS, LocalSparkEngine(spark), lake, connect, run, [DAY], "1"
        )
        silver.build_silver(
            CUSTOMER_SNAPSHOTS, LocalSparkEngine(spark), lake, connect, run, [DAY], "1"
        )

    def gold_layer():
        run = run_info()
        with connect() as warehouse:
            gold.build_gold(warehouse, run, GOLD_DAILY_CUSTOMER_SUMMARY, [DAY], "1")
            gold.build_gold(warehouse, run, GOLD_SEGMENT_DAILY_REPORT, [DAY], "1")
            gold.build_gold(warehouse, run, GOLD_ACCOUNT_DAILY_BALANCE, [DAY], "1", DAY)

    def plain_six_tables():
        plain_duckdb(lake.root, DAY).close()

    spark_s, spark_samples = median_seconds(spark_scan, repeats)
    duck_s, duck_samples = median_seconds(duckdb_scan, repeats)
    silver_s, silver_samples = median_seconds(silver_layer, repeats)
    gold_s, gold_samples = median_seconds(gold_layer, repeats)
    plain_s, plain_samples = median_seconds(plain_six_tables, repeats)
    n = cores()
    rows_out = [
        ("spark scan (baseline)", spark_s, raw_rows / spark_s / n, 1.0),
        (
            "silver (Spark + load + audits + publish)",
            silver_s,
            raw_rows / silver_s / n,
            silver_s / spark_s,
        ),
        ("duckdb scan (baseline)", duck_s, raw_rows / duck_s / n, 1.0),
        ("gold (3 tables, SQL + audits + publish)", gold_s, raw_rows / gold_s / n, gold_s / duck_s),
        (
            "silver + gold",
            silver_s + gold_s,
            raw_rows / (silver_s + gold_s) / n,
            (silver_s + gold_s) / spark_s,
        ),
        ("plain DuckDB, all six tables", plain_s, raw_rows / plain_s / n, plain_s / duck_s),
    ]
    print_table(
        f"Layer throughput, {raw_rows:,} raw rows, {n} cores, median of {repeats}",
        ["stage", "seconds", "rows/s/core", "ratio to its engine's scan"],
        rows_out,
    )
    to_plain = (silver_s + gold_s) / plain_s
    target = (silver_s + gold_s) / spark_s
    figures = {
        "raw_rows": raw_rows,
        "repeats": repeats,
        "seconds": {
            "spark_scan": spark_samples,
            "duckdb_scan": duck_samples,
            "silver": silver_samples,
            "gold": gold_samples,
            "plain_duckdb": plain_samples,
        },
        "median_seconds": {
            "spark_scan": spark_s,
            "duckdb_scan": duck_s,
            "silver": silver_s,
            "gold": gold_s,
            "plain_duckdb": plain_s,
        },
        "ratio_silver_gold_to_spark_scan": target,
        "ratio_silver_gold_to_plain_duckdb": to_plain,
    }
    print(
        f"\ntarget: silver+gold <= {TARGET_RATIO} x Spark scan; measured {target:.2f} x "
        f"({'met' if target <= TARGET_RATIO else 'NOT met'})"
        f"\ntarget: silver+gold <= {TARGET_RATIO} x plain DuckDB; measured {to_plain:.2f} x "
        f"({'met' if to_plain <= TARGET_RATIO else 'NOT met'})"
    )
    if layers_only:
        write_result(result, figures)
        return
    transform_s, _ = median_seconds(spark_transform, repeats)
    written_s, _ = median_seconds(spark_transform_and_write, repeats)
    print_table(
        "Where silver.transactions' Spark job goes (same files, median)",
        ["part", "seconds", "x Spark scan"],
        [
            ("read and dedup/validate (no write)", transform_s, transform_s / spark_s),
            ("  + Parquet write of every row", written_s, written_s / spark_s),
            ("rest of silver: customers job, load, audits, publish", silver_s - written_s, None),
        ],
    )
    print_table(
        "Where silver goes, one more run under cProfile (cumulative seconds per phase)",
        ["phase", "seconds", "x Spark scan"],
        [(name, seconds, seconds / spark_s) for name, seconds in silver_phases(silver_layer)],
    )
    write_result(
        result,
        {
            **figures,
            "silver_transactions_spark_median_seconds": {
                "transform_no_write": transform_s,
                "transform_and_write": written_s,
            },
        },
    )


# Silver's phases: (module, function) as the profiler names them, and what each is.
SILVER_PHASES = (
    ("silver.py", "build_silver", "silver's sources (transactions, customers), in all"),
    ("silver_inputs.py", "inspect_days", "  raw footer checks"),
    ("silver_run.py", "run_spark", "  the Spark jobs (read, transform, write staged Parquet)"),
    ("publish.py", "stage", "  warehouse: stage each table's rows with lineage"),
    ("publish.py", "audit", "  warehouse: audits"),
    ("silver.py", "_problems", "  warehouse: rows that fail their day"),
    ("replace.py", "partition_stats", "  warehouse: row counts and checksums"),
    ("replace.py", "replace_partitions", "  warehouse: the publish transaction's statements"),
)


def silver_phases(silver_layer) -> list[tuple[str, float]]:
    """Cumulative seconds of each silver phase over one profiled run of `silver_layer`."""
    profiler = cProfile.Profile()
    profiler.runcall(silver_layer)
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    seconds: dict[tuple[str, str], float] = {}
    for (filename, _, function), (_, _, _, cumulative, _) in stats.items():
        key = (Path(filename).name, function)
        seconds[key] = seconds.get(key, 0.0) + cumulative
    return [(label, seconds.get((module, name), 0.0)) for module, name, label in SILVER_PHASES]


if __name__ == "__main__":
    main()
