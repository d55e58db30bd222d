"""The benchmarks' plain DuckDB yardstick computes what the project publishes, row for row: the
ratio they print compares the same work."""

from __future__ import annotations

from datetime import date

from benchmarks.plain_duckdb import PLAIN, build
from finsight_assets.dev.synthetic import generate_raw
from finsight_assets.lib.tables.registry import TABLES_BY_NAME
from finsight_assets_tests.pipeline import query, run_pipeline

DAY = date(2025, 3, 4)


def test_the_plain_duckdb_pipeline_gives_the_projects_rows(engine, home):
    generate_raw(home / "lake", DAY, DAY, rows_per_day=3000, seed=11)
    results = run_pipeline(engine, home, [DAY])
    assert not any(r.failed for r in results.values())
    plain = build(home / "lake", DAY)
    for name, plain_name in PLAIN.items():
        columns = ", ".join(TABLES_BY_NAME[name].business_columns)
        ours = sorted(query(home, f"SELECT {columns} FROM {name}"), key=repr)
        theirs = sorted(plain.execute(f"SELECT {columns} FROM {plain_name}").fetchall(), key=repr)
        assert ours, name
        assert theirs == ours, name
