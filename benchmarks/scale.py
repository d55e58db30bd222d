"""FinSight's scale on paper: a 45-day and a 180-day backfill at 900M rows a day on EMR Serverless
(silver's Spark job) and Snowflake (the load, audits and publish of silver, and gold), from
what this machine measured:
- EMR: the Spark job's own rate, alone on local Spark, on the 10M-row day (`bench_spark_job`);
- S3: the compressed bytes of the contract's columns per raw row, from the raw files' footers;
- Snowflake: the statements one day's silver + gold issue to the warehouse, with the rows and
  bytes each scans and writes (`bench_layers`' probed run), scaled per raw row.
Every assumption is one constant below: change one, run `python -m benchmarks.scale` again.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# The production day (DESIGN.md).
EVENTS_PER_DAY = 900_000_000
BYTES_PER_DAY = 2.5e12  # every column of the raw day; Spark reads only the contract's columns
DEADLINE_HOURS = 8.0
REQUESTS_DAYS = (45, 180)

# The backfill lane: days per run (FINSIGHT_BACKFILL_DAYS_PER_RUN, as `make dev` sets it) and
# runs at once (dagster.yaml's limit on backfill runs).
DAYS_PER_RUN = 10
RUNS_AT_ONCE = 2

# EMR Serverless, release emr-spark-8.0.0 (Spark 4.0.2), us-east-1 list prices (USD).
EMR_RELEASE = "emr-spark-8.0.0 (Spark 4.0.2)"
VCPU_HOUR_USD = 0.052624
GB_HOUR_USD = 0.0057785
GB_PER_VCPU = 4
# The backfill application's capacity limit, shared by the runs at once (vCPUs).
EMR_MAX_VCPUS = 512
# Per job: the application's start, the driver and the executors' ramp-up (hours).
EMR_JOB_START_HOURS = 3 / 60
# Per-core Spark rate on EMR relative to the local measurement (same cores, same code).
CLUSTER_EFFICIENCY = 1.0
# S3 bandwidth one executor core sustains reading Parquet (MB/s).
S3_MB_PER_SECOND_PER_VCPU = 80

# Snowflake: the backfill lane's warehouse is the smallest of these sizes (credits per hour)
# that meets the deadline; the price of a credit; the rates a warehouse of one credit per hour
# sustains, a larger size scaling them with its credits. Bytes are DuckDB's in-memory width of
# the columns a statement scans or writes (Snowflake's compressed bytes are fewer).
SNOWFLAKE_SIZES = (
    ("X-Small", 1),
    ("Small", 2),
    ("Medium", 4),
    ("Large", 8),
    ("X-Large", 16),
    ("2X-Large", 32),
    ("3X-Large", 64),
    ("4X-Large", 128),
)
USD_PER_CREDIT = 3.0
SNOWFLAKE_SCAN_MB_PER_SECOND_PER_CREDIT = 400
SNOWFLAKE_WRITE_MB_PER_SECOND_PER_CREDIT = 100
# Each statement's fixed cost: compile, queue, commit (seconds).
SNOWFLAKE_SECONDS_PER_STATEMENT = 0.3
# Rows a run fetches from Snowflake into its one Python process (and validates there), in MB/s
# of DuckDB's in-memory width; the warehouse is held meanwhile. Issue 25 estimated 7-11 h for
# the ~100 GB a day of a 45-day backfill, about 115-180 MB/s.
PYTHON_FETCH_MB_PER_SECOND = 120


@dataclass(frozen=True)
class Measured:
    """What the benchmarks measured, per raw transaction row of a day (and per day)."""

    spark_rows_per_second_per_core: float
    contract_bytes_per_row: float
    warehouse_bytes_scanned_per_row: float
    warehouse_bytes_written_per_row: float
    warehouse_statements_per_day: int
    python_bytes_fetched_per_row: float = 0.0


@dataclass(frozen=True)
class RunCost:
    """One backfill run of `days` days: its EMR job on `vcpus`, then its warehouse work."""

    days: int
    vcpus: int
    credits_per_hour: int
    compute_vcpu_hours: float
    read_vcpu_hours: float
    snowflake_hours: float
    fetch_hours: float = 0.0

    @property
    def emr_hours(self) -> float:
        return EMR_JOB_START_HOURS + max(self.compute_vcpu_hours, self.read_vcpu_hours) / self.vcpus

    @property
    def wall_hours(self) -> float:
        return self.emr_hours + self.snowflake_hours + self.fetch_hours

    @property
    def warehouse_hours(self) -> float:
        """The hours the warehouse is held: its statements and the fetches it serves."""
        return self.snowflake_hours + self.fetch_hours


def run_cost(days: int, vcpus: int, credits_per_hour: int, measured: Measured) -> RunCost:
    """The cost of one run of `days` days: its EMR job on `vcpus` vCPUs, its statements on a
    warehouse of `credits_per_hour`."""
    rows = days * EVENTS_PER_DAY
    rate = measured.spark_rows_per_second_per_core * CLUSTER_EFFICIENCY
    read_rate = S3_MB_PER_SECOND_PER_VCPU * 1e6
    scan_rate = SNOWFLAKE_SCAN_MB_PER_SECOND_PER_CREDIT * 1e6 * credits_per_hour
    write_rate = SNOWFLAKE_WRITE_MB_PER_SECOND_PER_CREDIT * 1e6 * credits_per_hour
    snowflake_seconds = (
        rows * measured.warehouse_bytes_scanned_per_row / scan_rate
        + rows * measured.warehouse_bytes_written_per_row / write_rate
        + days * measured.warehouse_statements_per_day * SNOWFLAKE_SECONDS_PER_STATEMENT
    )
    return RunCost(
        days=days,
        vcpus=vcpus,
        credits_per_hour=credits_per_hour,
        compute_vcpu_hours=rows / rate / 3600,
        read_vcpu_hours=rows * measured.contract_bytes_per_row / read_rate / 3600,
        snowflake_hours=snowflake_seconds / 3600,
        fetch_hours=rows
        * measured.python_bytes_fetched_per_row
        / (PYTHON_FETCH_MB_PER_SECOND * 1e6)
        / 3600,
    )


@dataclass(frozen=True)
class Plan:
    """A backfill request: its runs (DAYS_PER_RUN days each, RUNS_AT_ONCE at a time), the
    vCPUs each run's EMR job gets, the warehouse size, its wall time and cost."""

    days: int
    size: str
    runs: tuple[RunCost, ...]

    @property
    def warehouse(self) -> tuple[str, int]:
        """The warehouse's size and credits per hour."""
        return self.size, self.runs[0].credits_per_hour

    @property
    def vcpus_per_job(self) -> int:
        return self.runs[0].vcpus

    @property
    def waves(self) -> int:
        return math.ceil(len(self.runs) / RUNS_AT_ONCE)

    @property
    def wall_hours(self) -> float:
        waves = [self.runs[i : i + RUNS_AT_ONCE] for i in range(0, len(self.runs), RUNS_AT_ONCE)]
        return sum(max(run.wall_hours for run in wave) for wave in waves)

    @property
    def emr_vcpu_hours(self) -> float:
        """vCPU-hours EMR bills: each job's vCPUs for as long as it holds them."""
        return sum(run.vcpus * run.emr_hours for run in self.runs)

    @property
    def emr_usd(self) -> float:
        return self.emr_vcpu_hours * (VCPU_HOUR_USD + GB_PER_VCPU * GB_HOUR_USD)

    @property
    def snowflake_hours(self) -> float:
        return sum(run.warehouse_hours for run in self.runs)

    @property
    def fetch_hours(self) -> float:
        return sum(run.fetch_hours for run in self.runs)

    @property
    def snowflake_credits(self) -> float:
        return sum(run.warehouse_hours * run.credits_per_hour for run in self.runs)

    @property
    def snowflake_usd(self) -> float:
        return self.snowflake_credits * USD_PER_CREDIT

    @property
    def cost_usd(self) -> float:
        return self.emr_usd + self.snowflake_usd

    @property
    def within_deadline(self) -> bool:
        return self.wall_hours <= DEADLINE_HOURS


def max_vcpus_per_job() -> int:
    """The most vCPUs one job can hold while the runs at once share the application's limit."""
    return EMR_MAX_VCPUS // RUNS_AT_ONCE


def plan(
    days: int, measured: Measured, vcpus: int | None = None, size: tuple[str, int] | None = None
) -> Plan:
    """`days` split into runs of DAYS_PER_RUN on the smallest warehouse, and each job on the
    fewest vCPUs (up to the lane's limit), that finish within the deadline; else the largest
    of both. `vcpus` and `size` fix the jobs' vCPUs and the warehouse instead."""

    def at(v: int, size: tuple[str, int]) -> Plan:
        sizes = [min(DAYS_PER_RUN, days - first) for first in range(0, days, DAYS_PER_RUN)]
        return Plan(days, size[0], tuple(run_cost(n, v, size[1], measured) for n in sizes))

    most = vcpus or max_vcpus_per_job()
    size = size or next(
        (size for size in SNOWFLAKE_SIZES if at(most, size).within_deadline), SNOWFLAKE_SIZES[-1]
    )
    if vcpus is not None or not at(most, size).within_deadline:
        return at(most, size)
    low, high = 1, most
    while low < high:
        middle = (low + high) // 2
        if at(middle, size).within_deadline:
            high = middle
        else:
            low = middle + 1
    return at(low, size)


def main() -> None:
    from benchmarks.scale_report import write_scale

    print(write_scale())


if __name__ == "__main__":
    main()
