"""The diff audit's row comparison on 1M rows: the stable MD5 row hash (kept for checksums)
against DuckDB's own hash (now used for diffs), full outer join on the key, median of 5.

    python -m benchmarks.bench_diff_hash [--rows 1000000]
"""

from __future__ import annotations

import argparse

import duckdb

from benchmarks.common import median_seconds, print_table, write_result
from finsight_assets.lib.engines.duckdb_warehouse import DuckDBWarehouse

COLUMNS = ["business_date", "event_id", "transaction_id", "account_id", "amount", "event_ts"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    connection = duckdb.connect()
    warehouse = DuckDBWarehouse(connection)
    connection.execute(
        "CREATE TABLE staged AS SELECT DATE '2025-01-01' AS business_date, 'EV' || i AS event_id, "
        "'T' || i AS transaction_id, (i % 100000)::VARCHAR AS account_id, "
        "CAST(i % 997 AS DECIMAL(18,2)) AS amount, "
        "TIMESTAMPTZ '2025-01-01 00:00:00+00' + to_seconds(i % 86400) AS event_ts "
        f"FROM range({args.rows}) AS t(i)"
    )
    connection.execute("CREATE TABLE published AS SELECT * FROM staged")

    def diff(row_hash: str):
        return lambda: connection.execute(
            "SELECT SUM(CASE WHEN p.event_id IS NULL THEN 1 ELSE 0 END), "
            "SUM(CASE WHEN s.event_id IS NOT NULL AND p.event_id IS NOT NULL AND s.h <> p.h "
            "THEN 1 ELSE 0 END) "
            f"FROM (SELECT *, {row_hash} AS h FROM staged) AS s FULL OUTER JOIN "
            f"(SELECT *, {row_hash} AS h FROM published) AS p "
            "ON s.business_date = p.business_date AND s.event_id = p.event_id"
        ).fetchall()

    md5, md5_samples = median_seconds(diff(warehouse.row_hash_sql(COLUMNS)), 5)
    fast, fast_samples = median_seconds(diff(warehouse.compare_hash_sql(COLUMNS)), 5)
    print_table(
        f"Diff audit row comparison, {args.rows:,} rows, median of 5",
        ["row hash", "seconds", "x faster than md5"],
        [("md5 (before)", md5, 1.0), ("duckdb hash (after)", fast, md5 / fast)],
    )
    write_result("diff_hash", {"rows": args.rows, "md5": md5_samples, "hash": fast_samples})


if __name__ == "__main__":
    main()
