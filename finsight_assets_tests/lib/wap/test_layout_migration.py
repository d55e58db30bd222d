"""A warehouse of the layout before versions tables (published tables, history and held twins)
is moved into the versions tables by the next connection: readers see the same rows, and the
replaced versions can still be rolled back to."""

from __future__ import annotations

from finsight_assets.lib.tables.silver_customers import SILVER_CUSTOMERS
from finsight_assets.lib.wap.layout import SCHEMA_LAYOUT, ensure_schema
from finsight_assets.lib.wap.rollback import rollback
from finsight_assets.lib.wap.versions import current_versions
from finsight_assets_tests.lib.wap.test_publish import DAY, publish_customers, run, table_rows


def as_old_layout(wh) -> None:
    """Turn silver.customers back into a table with a history twin, as the old layout kept them:
    the current version's rows published, the replaced one's in history."""
    current = "SELECT version_id FROM audit.current_versions"
    wh.execute(
        "CREATE TABLE staging.current_rows AS SELECT * FROM versions.silver__customers "
        f"WHERE _version_id IN ({current})"
    )
    wh.execute("CREATE SCHEMA IF NOT EXISTS history")
    wh.execute(
        "CREATE TABLE history.silver__customers AS SELECT * FROM versions.silver__customers "
        f"WHERE _version_id NOT IN ({current})"
    )
    wh.execute("DROP VIEW silver.customers")
    wh.execute("CREATE TABLE silver.customers AS SELECT * FROM staging.current_rows")
    wh.execute("DROP TABLE staging.current_rows")
    wh.execute("DELETE FROM versions.silver__customers")
    wh.execute(f"DROP TABLE {SCHEMA_LAYOUT}")  # the old layout's release recorded none


def test_the_old_layout_moves_into_the_versions_table_and_rolls_back(connect):
    with connect() as wh:
        _, (v1,) = publish_customers(wh, "r1", DAY, ("C1", "RETAIL"), ("C2", "SMB"))
        first = table_rows(wh)
        _, (v2,) = publish_customers(wh, "r2", DAY, ("C1", "CORPORATE"))
        second = table_rows(wh)
        as_old_layout(wh)
        assert wh.fetchall("SELECT COUNT(*) FROM versions.silver__customers") == [(0,)]
    with connect() as wh:
        ensure_schema(wh)  # the connection's own, and once more: nothing copied twice
        assert table_rows(wh) == second
        kept = wh.fetchall(
            "SELECT _version_id, COUNT(*) FROM versions.silver__customers GROUP BY 1 ORDER BY 1"
        )
        assert sorted(kept) == sorted([(v1.version_id, 2), (v2.version_id, 1)])
        gone = wh.fetchall(
            "SELECT COUNT(*) FROM information_schema.tables "
            "WHERE LOWER(table_schema) = 'history' AND LOWER(table_name) = 'silver__customers'"
        )
        assert gone == [(0,)]
        assert rollback(wh, SILVER_CUSTOMERS, [v2.version_id], run("undo")) == {DAY: v1.version_id}
        assert table_rows(wh) == first
        assert current_versions(wh, "silver.customers", [DAY]) == {DAY: v1.version_id}
