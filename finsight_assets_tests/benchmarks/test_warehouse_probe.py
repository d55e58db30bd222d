"""The warehouse probe counts, on a real DuckDB warehouse, the staged rows a statement hands to
Python and the rows written outside staging, from DuckDB's own counts."""

from __future__ import annotations

import duckdb
import pytest

from benchmarks.warehouse_probe import (
    LOAD,
    MAX_SCANNED_ROW_BYTES,
    SILVER_FROM_RAW,
    classify,
    probing,
    profiled,
)
from finsight_assets.lib.engines.duckdb_warehouse import DuckDBWarehouse, duckdb_connector
from finsight_assets.lib.tables.silver_customers import SILVER_CUSTOMERS
from finsight_assets.lib.wap.profile import row_hash
from finsight_assets_tests.lib.wap.test_publish import DAY, publish_customers


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("INSERT INTO silver.t (a) SELECT a FROM staging.t__run1_1", ("write", "silver.t", True)),
        ("  delete from history.silver__t where x = 1", ("write", "history.silver__t", False)),
        ("UPDATE audit.current_versions SET v = 2", ("write", "audit.current_versions", False)),
        ("CREATE OR REPLACE TABLE staging.t__r AS SELECT 1", ("write", "staging.t__r", True)),
        (
            "CREATE OR REPLACE TEMPORARY TABLE temp.main.t__r AS SELECT 1",
            ("write", "temp.main.t__r", True),
        ),
        ("INSERT INTO versions.t SELECT * FROM temp.main.t__r", ("write", "versions.t", True)),
        ("CREATE TABLE IF NOT EXISTS silver.t (a INT)", ("other", None, False)),
        ("SELECT * FROM read_parquet(['/lake/staging/t/x.parquet'])", ("query", None, True)),
        ("WITH s AS (SELECT 1) SELECT * FROM s", ("query", None, False)),
        ("BEGIN TRANSACTION", ("other", None, False)),
    ],
)
def test_statements_are_classified_by_what_they_write_and_read(sql, expected):
    assert classify(sql) == expected


def test_a_probed_run_counts_staged_rows_fetched_and_rows_written_outside_staging(tmp_path):
    raw = tmp_path / "lake" / "raw" / "t.parquet"
    raw.parent.mkdir(parents=True)
    duckdb.execute(f"COPY (SELECT range AS a FROM range(50)) TO '{raw}'")
    warehouse = DuckDBWarehouse(duckdb.connect())
    warehouse.execute("CREATE SCHEMA staging")
    warehouse.execute("CREATE SCHEMA silver")
    warehouse.execute("CREATE TABLE silver.t (a INTEGER)")
    with probing() as probe:
        warehouse.execute("CREATE TABLE staging.t__r AS SELECT range AS a FROM range(1000)")
        assert warehouse.fetchall("SELECT COUNT(*) FROM staging.t__r") == [(1000,)]
        batches = list(warehouse.fetch_arrow_batches("SELECT a FROM staging.t__r", 300))
        warehouse.execute("INSERT INTO silver.t SELECT a FROM staging.t__r")
        changed = warehouse.count_changed("DELETE FROM silver.t WHERE a < 10")
        warehouse.fetchall("SELECT * FROM silver.t")
        # Silver computed in the warehouse from the raw files is apart: EMR's work in production.
        warehouse.execute(f"CREATE TABLE staging.c__r AS SELECT * FROM read_parquet('{raw}')")
    summary = probe.summary(published_rows=990)
    assert sum(b.num_rows for b in batches) == 1000 and changed == 10
    # The count's one row and the 1000 streamed rows; the published table's rows are not staged.
    assert summary["staged_rows_fetched"] == 1001
    assert summary["rows_written_by_table"] == {"silver.t": 1010}
    assert summary["by_kind"][LOAD]["rows_written"] == 1000
    assert summary["by_kind"][SILVER_FROM_RAW]["rows_written"] == 50
    streamed = next(s for s in probe.statements if s.sql == "SELECT a FROM staging.t__r")
    assert streamed.rows_fetched == 1000 and streamed.bytes_fetched >= 1000 * 8
    assert summary["bytes_fetched"] >= streamed.bytes_fetched
    insert = next(s for s in probe.statements if s.sql.startswith("INSERT"))
    assert insert.rows_scanned == 1000 and insert.bytes_written > 0
    # The warehouse class is itself again once the block ends.
    with probing() as later:
        pass
    warehouse.fetchall("SELECT 1")
    assert later.statements == []
    assert warehouse.check_hash_sql(SILVER_CUSTOMERS.columns) is not None


def test_a_probed_publish_issues_the_snowflake_flavours_statements(tmp_path):
    """Snowflake has no check hash: its publish hashes the rows it writes, and reads back only
    their stored hashes; SCALE.md sizes Snowflake from the probed statements."""
    with duckdb_connector(tmp_path / "warehouse.duckdb")() as wh:
        publish_customers(wh, "r1", DAY, ("C1", "RETAIL"))
        with probing() as probe:
            publish_customers(wh, "r2", DAY, ("C1", "SMB"))
    insert = next(s.sql for s in probe.statements if s.sql.startswith("INSERT INTO versions."))
    assert row_hash(wh, SILVER_CUSTOMERS) in insert
    read_back = [s.sql for s in probe.statements if "_version_id IN" in s.sql]
    assert read_back and all("hash(" not in sql for sql in read_back)


def test_a_selective_scan_counts_its_rows_at_most_the_widest_row():
    """A filter pushed into a scan leaves few rows in full-size vectors: their bytes per row
    would make 944k scanned rows read as 30 GB."""

    def scan(rows_scanned: int, rows_out: int, out_bytes: int) -> dict:
        return {
            "operator": [
                {
                    "children": [
                        {
                            "rows_scanned": rows_scanned,
                            "intermediate_rows": rows_out,
                            "intermediate_size_bytes": out_bytes,
                            "type": "TABLE_SCAN",
                            "children": [],
                        }
                    ]
                }
            ]
        }

    rows, scanned, _, _ = profiled(scan(944_264, 14_052, 14_052 * 32_000))
    assert rows == 944_264
    assert scanned == 944_264 * MAX_SCANNED_ROW_BYTES
    _, unfiltered, _, _ = profiled(scan(1_000, 1_000, 300_000))
    assert unfiltered == 300_000
