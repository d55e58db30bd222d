"""SCALE.md's model: a backfill request split into the lane's runs, sized to finish within the
deadline on the fewest vCPUs and the smallest warehouse, and costed from what it holds."""

from __future__ import annotations

import pytest

from benchmarks import scale
from benchmarks.scale import DEADLINE_HOURS, Measured, plan, run_cost
from benchmarks.scale_report import report

FAST = Measured(
    spark_rows_per_second_per_core=300_000.0,
    contract_bytes_per_row=40.0,
    warehouse_bytes_scanned_per_row=400.0,
    warehouse_bytes_written_per_row=150.0,
    warehouse_statements_per_day=200,
)
SLOW = Measured(20_000.0, 40.0, 2_000.0, 600.0, 300, python_bytes_fetched_per_row=100.0)


def test_a_45_day_request_is_sized_to_the_fewest_vcpus_that_meet_the_deadline():
    sized = plan(45, FAST)
    assert sized.within_deadline and sized.wall_hours <= DEADLINE_HOURS
    assert len(sized.runs) == 5 and sized.waves == 3
    assert [run.days for run in sized.runs] == [10, 10, 10, 10, 5]
    fewer = plan(45, FAST, sized.vcpus_per_job - 1, sized.warehouse)
    assert not fewer.within_deadline
    # The smaller warehouse would not make it even with the most vCPUs the lane allows.
    sizes = [size for size, _ in scale.SNOWFLAKE_SIZES]
    smaller = scale.SNOWFLAKE_SIZES[sizes.index(sized.size) - 1]
    if sized.size != sizes[0]:
        assert not plan(45, FAST, scale.max_vcpus_per_job(), smaller).within_deadline


def test_a_request_that_cannot_meet_the_deadline_gets_the_lanes_most():
    sized = plan(180, SLOW)
    assert not sized.within_deadline
    assert sized.vcpus_per_job == scale.max_vcpus_per_job()
    assert sized.size == scale.SNOWFLAKE_SIZES[-1][0]


def test_a_run_is_its_emr_job_then_its_warehouse_work_and_costs_what_it_holds():
    run = run_cost(10, 100, 8, FAST)
    rows = 10 * scale.EVENTS_PER_DAY
    assert run.compute_vcpu_hours == pytest.approx(rows / 300_000 / 3600)
    assert run.read_vcpu_hours == pytest.approx(rows * 40 / 80e6 / 3600)
    assert run.emr_hours == pytest.approx(
        scale.EMR_JOB_START_HOURS + max(run.compute_vcpu_hours, run.read_vcpu_hours) / 100
    )
    warehouse_seconds = (
        rows * 400 / (scale.SNOWFLAKE_SCAN_MB_PER_SECOND_PER_CREDIT * 1e6 * 8)
        + rows * 150 / (scale.SNOWFLAKE_WRITE_MB_PER_SECOND_PER_CREDIT * 1e6 * 8)
        + 10 * 200 * scale.SNOWFLAKE_SECONDS_PER_STATEMENT
    )
    assert run.snowflake_hours == pytest.approx(warehouse_seconds / 3600)
    assert run.wall_hours == pytest.approx(run.emr_hours + run.snowflake_hours)
    # Rows fetched into the run's one Python process add their hours, whatever the sizes.
    fetching = run_cost(10, 100, 8, SLOW)
    fetch_hours = rows * 100 / (scale.PYTHON_FETCH_MB_PER_SECOND * 1e6) / 3600
    assert fetching.fetch_hours == pytest.approx(fetch_hours)
    assert run_cost(10, 200, 128, SLOW).fetch_hours == pytest.approx(fetch_hours)
    assert fetching.warehouse_hours == pytest.approx(fetching.snowflake_hours + fetch_hours)
    request = plan(20, FAST, 100, ("Large", 8))
    # Two runs at once: one wave, as long as its longer run; each run's vCPUs billed while held.
    assert request.wall_hours == pytest.approx(run.wall_hours)
    per_vcpu_hour = scale.VCPU_HOUR_USD + scale.GB_PER_VCPU * scale.GB_HOUR_USD
    assert request.emr_usd == pytest.approx(2 * 100 * run.emr_hours * per_vcpu_hour)
    assert request.snowflake_credits == pytest.approx(2 * run.snowflake_hours * 8)


def test_the_report_takes_its_figures_from_the_results_and_says_which_are_measured():
    spark_job = {
        "rows_per_second_per_core": 300_000.0,
        "contract_bytes_per_raw_row": 40.0,
        "file_bytes_per_raw_row": 41.0,
        "spark_cores": 2,
        "repeats": 3,
        "raw_rows": 9_442_802,
        "measured_at": "2026-12-07T08:00:00+00:00",
        "commit": "abc1234",
    }
    kinds = {
        "query": {"statements": 150, "bytes_scanned": 4e8, "bytes_written": 0.0},
        "write": {"statements": 50, "bytes_scanned": 0.0, "bytes_written": 1.5e8},
    }
    for totals in kinds.values():
        totals.update(rows_scanned=0, rows_written=0, seconds=0.0)
    layers = {
        "raw_rows": 1_000_000,
        "warehouse": {
            "by_kind": kinds,
            "published_rows": 1_100_000,
            "staged_rows_fetched": 0,
            "bytes_fetched": 0,
        },
        "measured_at": "2026-12-07T08:05:00+00:00",
        "commit": "abc1234",
    }
    statement = {
        "kind": "query",
        "rows_scanned": 1_000_000,
        "bytes_scanned": 2e8,
        "rows_written": 0,
        "bytes_written": 0,
        "rows_fetched": 1,
        "sql": "SELECT MD5(a || b) FROM staging.t",
    }
    text, verdict = report(spark_job, layers, [statement])
    assert verdict["wall_hours"] == pytest.approx(plan(45, FAST).wall_hours)
    assert verdict["long_request"]["days"] == 180
    assert "**300,000 raw rows/s per core** (2026-12-07T08:00:00+00:00, commit abc1234)" in text
    assert "## Assumed" in text and scale.EMR_RELEASE in text
    # A statement's SQL sits in a table cell: its pipes are escaped, or they would split it.
    assert "| query | 1,000,000 | 200.0 | 0 | 1 | `SELECT MD5(a \\|\\| b) FROM staging.t` |" in text
