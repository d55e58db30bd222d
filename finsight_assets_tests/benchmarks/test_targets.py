"""The targets table reads each benchmark's result file and says met, or by how much not."""

from __future__ import annotations

import json

from benchmarks.targets import verdicts


def test_each_target_reads_met_not_met_or_not_measured(tmp_path):
    (tmp_path / "end_to_end.json").write_text(
        json.dumps({"rows": 1_000_000, "ratio_to_plain_duckdb": 6.5, "measured_at": "then"})
    )
    (tmp_path / "memory.json").write_text(
        json.dumps({"rows_per_day": 1_000_000, "peak_mib": {"5": 3000.0, "45": 3300.0}})
    )
    (tmp_path / "daily_lane.json").write_text(
        json.dumps({"rows_per_day": 5000, "median_seconds": 4.0})
    )
    by_target = {row[0]: row[1:] for row in verdicts(tmp_path)}
    end_to_end = by_target["finsight materialize of a 1M-row day, warm Spark / plain DuckDB"]
    assert end_to_end == ("6.50 x (1,000,000 rows a day)", "5 x", "NOT met by 1.50", "then")
    memory = by_target["peak memory, 45 days / 5 days (make bench-memory)"]
    assert memory[0].startswith("1.10 x") and memory[2] == "met"
    assert by_target["daily run start while a 60-day backfill fills its lane"][2] == "met"
    assert by_target["batched 45-day backfill / its pure compute"][0] == "not measured"
