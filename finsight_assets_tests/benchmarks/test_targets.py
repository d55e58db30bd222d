"""The targets table reads each benchmark's result file and says met, or by how much not, and why."""

from __future__ import annotations

import json

from benchmarks.backfill_timeline import split_wall
from benchmarks.targets import verdicts


def _write(folder, name, payload):
    (folder / f"{name}.json").write_text(json.dumps({"measured_at": "then", **payload}))


def test_each_target_reads_met_not_met_or_not_measured(tmp_path):
    _write(
        tmp_path,
        "end_to_end",
        {
            "rows": 1_000_000,
            "ratio_to_plain_duckdb": 6.5,
            "breakdown_median_seconds": {"run materialize, start to end": 9.0, "outside": 4.0},
        },
    )
    _write(
        tmp_path,
        "memory",
        {
            "rows_per_day": 1_000_000,
            "peak_mib": {"5": 3000.0, "45": 3300.0},
            "python_peak_mib": {"5": 500.0, "45": 520.0},
            "jvm_peak_mib": {"5": 2500.0, "45": 2780.0},
        },
    )
    _write(tmp_path, "daily_lane", {"rows_per_day": 5000, "median_seconds": 4.0})
    _write(
        tmp_path,
        "spark_job",
        {
            "raw_rows": 9_400_000,
            "spark_cores": 2,
            "rows_per_second_per_core": 250_000.0,
            "median_seconds": {"transactions": 15.0, "customers": 3.8},
        },
    )
    by_target = {row[0]: row[1:] for row in verdicts(tmp_path)}
    end_to_end = by_target["finsight materialize of a 1M-row day / plain DuckDB (both processes)"]
    assert end_to_end[:3] == (
        "6.50 x (1,000,000 rows a day)",
        "at most 2.50 x",
        "NOT met by 4.00 x",
    )
    assert end_to_end[3].startswith("largest parts: run materialize, start to end 9.0 s")
    memory = by_target["peak memory, 45-day backfill / 5-day"]
    assert memory[0].startswith("1.10 x") and memory[2] == "met"
    assert "JVM 2,780 MiB" in memory[3]
    assert by_target["daily run started while a 60-day backfill fills its lane"][2] == "met"
    spark = by_target["Spark silver job alone, raw rows/s per core"]
    assert spark[1:3] == ("at least 300,000 rows/s", "NOT met by 50,000 rows/s")
    assert by_target["batched 45-day backfill / its pure compute"][0] == "not measured"


def test_a_figure_that_must_equal_its_limit_is_compared_at_two_decimals(tmp_path):
    warehouse = {
        "staged_rows_fetched": 3,
        "staged_rows_fetched_per_published_row": 3 / 1_000_000,
        "rows_written_per_published_row": 3.0011,
        "rows_written_by_table": {"history.silver__transactions": 1_000_000},
        "by_kind": {"query": {"seconds": 1.5}},
    }
    _write(
        tmp_path,
        "layers",
        {
            "raw_rows": 1_000_000,
            "warehouse": warehouse,
            "ratio_silver_gold_to_plain_duckdb": 1.6,
            "row_hash_pass_seconds": 0.44,
        },
    )
    by_target = {row[0]: row[1:] for row in verdicts(tmp_path)}
    assert by_target["staged rows fetched into Python per published row"][2] == "met"
    written = by_target["rows written per published row"]
    assert written[2] == "NOT met by 2.00"
    assert "history.silver__transactions 1,000,000 rows" in written[3]
    layers = by_target["silver + gold / plain DuckDB, same day"]
    assert layers[2] == "NOT met by 0.10 x"
    assert layers[3].endswith(
        "0.44 s hash every published row once, at stage (the MD5 row hash the checksums keep)"
    )


def test_a_result_of_an_older_benchmark_reads_not_in_its_file(tmp_path):
    _write(tmp_path, "layers", {"raw_rows": 944_264, "ratio_silver_gold_to_spark_scan": 11.1})
    by_target = {row[0]: row[1:] for row in verdicts(tmp_path)}
    assert by_target["silver + gold / plain DuckDB, same day"][0].startswith("not in layers.json")


def test_a_backfills_wall_time_splits_into_the_daemons_waits_and_its_runs():
    # Launched at 100; runs created at 115 and 116 overlap; the third is created 20 s after
    # the second ended and waits 2 s for a slot; all over at 200.
    spans = [
        (116.0, 117.0, 118.0, 140.0),
        (115.0, 115.5, 117.0, 130.0),
        (160.0, 162.0, 163.0, 195.0),
    ]
    split = split_wall(spans, 100.0, 200.0)
    assert split["until_first_run_seconds"] == 15.0
    # 140..160 with no run, and 195..200 after the last one.
    assert split["between_runs_seconds"] == 25.0
    assert split["queued_seconds"] == [0.5, 1.0, 2.0]
    assert split["worker_start_seconds"] == [1.5, 1.0, 1.0]
    assert split["running_seconds"] == [13.0, 22.0, 32.0]


def test_a_batched_miss_says_how_long_nothing_ran(tmp_path):
    timeline = split_wall(
        [(110.0, 110.5, 112.0, 150.0), (180.0, 180.0, 181.0, 190.0)], 100.0, 190.0
    )
    _write(
        tmp_path,
        "orchestration",
        {
            "rows_per_day": 100_000,
            "days": 45,
            "pure_compute": {"step_seconds": 40.0},
            "batched": {"wall_seconds": 90.0, "runs": 2, "timeline": timeline},
        },
    )
    (_, _, outcome, why, _) = {r[0]: r[1:] for r in verdicts(tmp_path)}[
        "batched 45-day backfill / its pure compute"
    ]
    assert outcome == "NOT met by 1.00 x"
    assert why == (
        "2 runs, 50 s beyond the compute: 10 s until the first run and 30 s with no run "
        "(the backfill daemon looks every 30 s), and the runs' workers 2 s starting up and "
        "47 s running in all"
    )
