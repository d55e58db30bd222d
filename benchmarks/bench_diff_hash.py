"""What the row hash behind every checksum costs, in CPU seconds on one DuckDB thread, over 1M
rows shaped like silver.transactions (its 14 columns and types), median of 5:

- the row hash as it was (each value cast to text, a `||` chain, MD5, 15 hex digits), the row
  hash now (`DuckDBWarehouse.row_hash_sql`: the same values, its text built by one concat_ws
  and timestamps printed without the time zone conversion) and DuckDB's own hash() for scale;
- the diff audit's comparison of every staged row with its published one (full outer join on
  the key): each side hashed in the query, as it was, against the hashes stored with the rows.

    python -m benchmarks.bench_diff_hash [--rows 1000000]
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import duckdb

from benchmarks.common import arguments, median_seconds, print_table, write_result
from finsight_assets.lib.engines.duckdb_warehouse import DuckDBWarehouse
from finsight_assets.lib.tables.silver_transactions import SILVER_TRANSACTIONS

COLUMNS = SILVER_TRANSACTIONS.columns
REPEATS = 5


def former_row_hash() -> str:
    """The row hash before issue 25 (the same values as `row_hash_sql`, computed dearer)."""
    text = " || '|' || ".join(
        f"COALESCE(CAST(CAST({c.name} AS {c.sql_type}) AS VARCHAR), '\\N')" for c in COLUMNS
    )
    return f"CAST(('0x' || LEFT(MD5({text}), 15)) AS BIGINT)"


def cpu_seconds(action: Callable[[], Any]) -> tuple[float, list[float]]:
    return median_seconds(action, REPEATS, clock=time.process_time)


def rows_sql(rows: int) -> str:
    return (
        "SELECT DATE '2025-03-04' AS business_date, 'EV' || lpad(i::VARCHAR, 12, '0') AS event_id,"
        " 'T' || i AS transaction_id, 'ACC' || (i % 100000) AS account_id, "
        "'C' || (i % 50000) AS customer_id, "
        "CASE WHEN i % 3 = 0 THEN 'PURCHASE' ELSE 'REFUND' END AS event_type, "
        "CASE WHEN i % 7 = 0 THEN NULL ELSE 'MC' || (i % 50) END AS merchant_category, "
        "'EUR' AS currency, CAST(i % 99997 / 100 AS DECIMAL(18,2)) AS amount, "
        "CAST(1.08123456 AS DECIMAL(18,8)) AS usd_rate, "
        "CAST(i % 99997 / 100 AS DECIMAL(18,2)) AS amount_usd, "
        "CAST(-(i % 99997) / 100 AS DECIMAL(18,2)) AS signed_amount_usd, "
        "TIMESTAMPTZ '2025-03-04 00:00:00+00' + to_microseconds(i * 86399) AS event_ts, "
        "TIMESTAMPTZ '2025-03-04 00:00:00+00' + to_microseconds(i * 86401) AS ingested_at "
        f"FROM range({rows}) AS t(i)"
    )


def main() -> None:
    args = arguments(__doc__, rows=1_000_000, repeats=None).parse_args()
    connection = duckdb.connect(config={"threads": "1"})
    warehouse = DuckDBWarehouse(connection)
    now = warehouse.row_hash_sql(COLUMNS)
    connection.execute(
        f"CREATE TABLE staged AS SELECT *, {now} AS _row_hash FROM ({rows_sql(args.rows)})"
    )
    connection.execute("CREATE TABLE published AS SELECT * FROM staged")
    hashes = {
        "row hash as it was (text chain, MD5)": former_row_hash(),
        "row hash now (row_hash_sql, same values)": now,
        "DuckDB hash() (not stable: for scale)": warehouse.check_hash_sql(COLUMNS),
    }
    same = connection.execute(f"SELECT COUNT(*) FROM staged WHERE {former_row_hash()} <> {now}")
    assert same.fetchall() == [(0,)], "the row hash changed its values"

    def summed(sql: str) -> Callable[[], Any]:
        return lambda: connection.execute(f"SELECT SUM({sql}) FROM staged").fetchall()

    results = {name: cpu_seconds(summed(sql)) for name, sql in hashes.items()}

    def diff(staged_hash: str, published_hash: str) -> Callable[[], Any]:
        return lambda: connection.execute(
            "SELECT SUM(CASE WHEN p.event_id IS NULL THEN 1 ELSE 0 END), "
            "SUM(CASE WHEN s.event_id IS NOT NULL AND p.event_id IS NOT NULL AND s.h <> p.h "
            "THEN 1 ELSE 0 END) "
            f"FROM (SELECT *, {staged_hash} AS h FROM staged) AS s FULL OUTER JOIN "
            f"(SELECT *, {published_hash} AS h FROM published) AS p "
            "ON s.business_date = p.business_date AND s.event_id = p.event_id"
        ).fetchall()

    hashed = warehouse.check_hash_sql(COLUMNS)
    results["diff, both sides hashed (as it was)"] = cpu_seconds(diff(hashed, hashed))
    results["diff, stored hashes (now)"] = cpu_seconds(diff("_row_hash", "_row_hash"))
    former = results["row hash as it was (text chain, MD5)"][0]
    print_table(
        f"Row hash and diff, {args.rows:,} silver.transactions rows, 1 thread, "
        f"CPU seconds, median of {REPEATS}",
        ["what", "CPU s", "x the former row hash"],
        [(name, cpu, cpu / former) for name, (cpu, _) in results.items()],
    )
    write_result(
        "diff_hash",
        {"rows": args.rows, "cpu_seconds": {name: s for name, (_, s) in results.items()}},
    )


if __name__ == "__main__":
    main()
