"""The row hash every checksum sums: the same MD5 values as before it was made cheaper (so every
recorded checksum still verifies), computed once at stage and stored with each version row,
hidden from readers; a stored hash or a staged value edited behind the code's back is refused,
and a warehouse from before stored hashes gets them from its next connection."""

from __future__ import annotations

import hashlib

import duckdb
import pytest

from finsight_assets.lib.contract.tables import Column
from finsight_assets.lib.engines.duckdb_warehouse import DuckDBWarehouse
from finsight_assets.lib.tables.silver_customers import SILVER_CUSTOMERS
from finsight_assets.lib.wap import publish
from finsight_assets.lib.wap.audits.diff import diff_against_published
from finsight_assets.lib.wap.layout import SCHEMA_LAYOUT
from finsight_assets.lib.wap.model import AuditInputs
from finsight_assets.lib.wap.profile import ROW_HASH, row_hash
from finsight_assets.lib.wap.replace import VersionRowsDiffer
from finsight_assets.lib.wap.rollback import rollback
from finsight_assets.lib.wap.versions import current_versions
from finsight_assets_tests.lib.wap.test_publish import (
    DAY,
    candidates,
    publish_customers,
    run,
    table_rows,
)

VERSIONS = "versions.silver__customers"
# One value of each contract type per row, the awkward ones among them.
EDGE_ROWS = [
    ("DATE '2025-03-03'", "'C1'", "12.50", "1.23456789", "'2025-03-03 10:00:00+00'"),
    ("DATE '0001-01-01'", "NULL", "-0.01", "0", "'2025-03-03 10:00:00.5+00'"),
    ("NULL", "'a|b\\N'", "NULL", "NULL", "'0044-03-15 12:00:00.000001+00'"),
    ("DATE '9999-12-31'", "''", "0", "NULL", "'infinity'"),
    ("DATE '2025-03-03'", "'Zoë'", "99999999.99", "0.00000001", "'-infinity'"),
    ("DATE '2025-03-03'", "'x'", "1", "2", "'0002-11-28 (BC) 00:00:00+00'"),
    ("DATE '2025-03-03'", "'y'", "1", "2", "NULL"),
]
# Each edge row's text as its hash reads it, written out: what the MD5 covers, independent of
# the DuckDB release running the test.
EDGE_TEXTS = [
    "2025-03-03|C1|12.50|1.23456789|2025-03-03 10:00:00+00",
    "0001-01-01|\\N|-0.01|0.00000000|2025-03-03 10:00:00.5+00",
    "\\N|a|b\\N|\\N|\\N|0044-03-15 12:00:00.000001+00",
    "9999-12-31||0.00|\\N|infinity",
    "2025-03-03|Zoë|99999999.99|0.00000001|-infinity",
    "2025-03-03|x|1.00|2.00000000|0002-11-28 (BC) 00:00:00+00",
    "2025-03-03|y|1.00|2.00000000|\\N",
]
EDGE_COLUMNS = (
    Column("d", "DATE"),
    Column("t", "VARCHAR"),
    Column("m", "DECIMAL(18,2)"),
    Column("r", "DECIMAL(18,8)"),
    Column("ts", "TIMESTAMP WITH TIME ZONE"),
)


def md5_row_hash(columns) -> str:
    """The row hash as it was written before: a `||` chain of each value's text, MD5."""
    text = " || '|' || ".join(
        f"COALESCE(CAST(CAST({c.name} AS {c.sql_type}) AS VARCHAR), '\\N')" for c in columns
    )
    return f"CAST(('0x' || LEFT(MD5({text}), 15)) AS BIGINT)"


@pytest.fixture
def edge_values():
    connection = duckdb.connect()
    warehouse = DuckDBWarehouse(connection)
    rows = " UNION ALL ".join(
        f"SELECT {d}, {t}, CAST({m} AS DECIMAL(18,2)), CAST({r} AS DECIMAL(18,8)), "
        f"CAST({ts} AS TIMESTAMP WITH TIME ZONE)"
        for d, t, m, r, ts in EDGE_ROWS
    )
    connection.execute(f"CREATE TABLE edge (d, t, m, r, ts) AS {rows}")
    yield warehouse
    connection.close()


def test_the_duckdb_row_hash_is_the_md5_of_the_rows_text_as_before(edge_values):
    hashes = edge_values.fetchall(
        f"SELECT {edge_values.row_hash_sql(EDGE_COLUMNS)}, {md5_row_hash(EDGE_COLUMNS)} "
        "FROM edge ORDER BY ALL"
    )
    pinned = sorted(
        (int(hashlib.md5(text.encode()).hexdigest()[:15], 16),) * 2 for text in EDGE_TEXTS
    )
    assert hashes == pinned


def versions_rows(wh, version_id: str) -> list[tuple]:
    hashed = row_hash(wh, SILVER_CUSTOMERS)
    return wh.fetchall(
        f"SELECT customer_id, {ROW_HASH}, {hashed} FROM {VERSIONS} WHERE _version_id = ? "
        "ORDER BY 1",
        [version_id],
    )


def test_each_version_row_stores_its_hash_and_readers_do_not_see_it(connect):
    with connect() as wh:
        _, (v1,) = publish_customers(wh, "r1", DAY, ("C1", "RETAIL"), ("C2", "SMB"))
        rows = versions_rows(wh, v1.version_id)
        assert [r[0] for r in rows] == ["C1", "C2"]
        assert all(stored is not None and int(stored) == int(now) for _, stored, now in rows)
        shown = wh.fetchall(
            "SELECT LOWER(column_name) FROM information_schema.columns "
            "WHERE LOWER(table_schema) = 'silver' AND LOWER(table_name) = 'customers'"
        )
        assert shown and (ROW_HASH,) not in shown


# An edit of a staged row, and what refuses its publish on DuckDB (the staged rows' check
# hashes, then the INSERT copying the staged row hashes) and on Snowflake (the INSERT hashing
# the values it writes): None, the publish puts the staged values live, their hash written anew.
STAGED_ROW_EDITS = [
    pytest.param(
        "SET segment = 'CORPORATE'", "not the values its stage hashed", "checksum", id="a value"
    ),
    pytest.param("SET {row_hash} = {row_hash} + 1", "checksum", None, id="its stored hash"),
    pytest.param(
        "SET segment = 'CORPORATE', {row_hash} = {hashed}",
        "not the values its stage hashed",
        "checksum",
        id="a value and its hash",
    ),
]


@pytest.mark.parametrize(("edit", "duckdb_refusal", "snowflake_refusal"), STAGED_ROW_EDITS)
def test_a_staged_row_edited_after_its_stage_never_goes_live(
    connect, edit, duckdb_refusal, snowflake_refusal
):
    with connect() as wh:
        _, (v1,) = publish_customers(wh, "r1", DAY, ("C1", "RETAIL"))
        staged = publish.stage(
            wh, SILVER_CUSTOMERS, run("r2"), "1", {DAY: "input-r2"}, candidates(DAY, ("C1", "SMB"))
        )
        hashed = row_hash(wh, SILVER_CUSTOMERS).replace("segment", "'CORPORATE'")
        wh.execute(
            f"UPDATE {staged.staging_table} " + edit.format(row_hash=ROW_HASH, hashed=hashed)
        )
        copies_hashes = wh.check_hash_sql(SILVER_CUSTOMERS.columns) is not None
        refusal = duckdb_refusal if copies_hashes else snowflake_refusal
        if refusal is None:
            (v2,) = publish.publish(wh, staged)
        else:
            with pytest.raises(VersionRowsDiffer, match=f"refusing to publish.*{refusal}"):
                publish.publish(wh, staged)
        publish.drop_staged(wh, staged)
    with connect() as wh:
        if refusal is None:
            assert current_versions(wh, "silver.customers", [DAY]) == {DAY: v2.version_id}
            assert [r[3] for r in table_rows(wh)] == ["SMB"]
            ((_, stored, now),) = versions_rows(wh, v2.version_id)
            assert int(stored) == int(now)
        else:
            assert current_versions(wh, "silver.customers", [DAY]) == {DAY: v1.version_id}
            assert [r[3] for r in table_rows(wh)] == ["RETAIL"]


def test_a_version_whose_stored_hash_was_edited_is_not_restored(connect):
    with connect() as wh:
        _, (v1,) = publish_customers(wh, "r1", DAY, ("C1", "RETAIL"))
        _, (v2,) = publish_customers(wh, "r2", DAY, ("C1", "SMB"))
        wh.execute(
            f"UPDATE {VERSIONS} SET {ROW_HASH} = {ROW_HASH} + 1 WHERE _version_id = ?",
            [v1.version_id],
        )
        with pytest.raises(VersionRowsDiffer, match="store a row hash that is not their values'"):
            rollback(wh, SILVER_CUSTOMERS, [v2.version_id], run("undo"))
        assert current_versions(wh, "silver.customers", [DAY]) == {DAY: v2.version_id}


def test_a_warehouse_from_before_stored_hashes_gets_them_and_still_diffs_and_rolls_back(connect):
    with connect() as wh:
        _, (v1,) = publish_customers(wh, "r1", DAY, ("C1", "RETAIL"), ("C2", "SMB"))
        _, (v2,) = publish_customers(wh, "r2", DAY, ("C1", "SMB"), ("C2", "SMB"))
        expected = {v: versions_rows(wh, v) for v in (v1.version_id, v2.version_id)}
        wh.execute(f"ALTER TABLE {VERSIONS} DROP COLUMN {ROW_HASH}")
        wh.execute(f"DROP TABLE {SCHEMA_LAYOUT}")  # a release before it recorded its layout
    with connect() as wh:
        assert {v: versions_rows(wh, v) for v in expected} == expected
    # A migration interrupted after its ALTER (Snowflake commits it alone): no stored hashes.
    with connect() as wh:
        wh.execute(f"UPDATE {VERSIONS} SET {ROW_HASH} = NULL")
        staged = publish.stage(
            wh,
            SILVER_CUSTOMERS,
            run("r3"),
            "1",
            {DAY: "input-r3"},
            candidates(DAY, ("C1", "RETAIL"), ("C3", "SMB")),
        )
        outcome = diff_against_published(wh, staged, AuditInputs())
        publish.drop_staged(wh, staged)
        assert outcome.summary == "1 added, 1 removed, 1 changed"
        assert rollback(wh, SILVER_CUSTOMERS, [v2.version_id], run("undo")) == {DAY: v1.version_id}
