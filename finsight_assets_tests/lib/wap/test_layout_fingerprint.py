"""A connection to a warehouse already at this release's layout opens without writing: the
layout's fingerprint is recorded, and only a warehouse recording another one is brought to it."""

from __future__ import annotations

from pathlib import Path

from finsight_assets.lib.engines.duckdb_warehouse import DuckDBWarehouse, duckdb_connector
from finsight_assets.lib.wap.layout import SCHEMA_LAYOUT, ensure_schema


class Recording:
    """A warehouse that keeps every statement it is given."""

    def __init__(self, warehouse: DuckDBWarehouse):
        self.warehouse = warehouse
        self.statements: list[str] = []

    def execute(self, sql, params=()):
        self.statements.append(sql)
        self.warehouse.execute(sql, params)

    def fetchall(self, sql, params=()):
        self.statements.append(sql)
        return self.warehouse.fetchall(sql, params)

    def __getattr__(self, name):
        return getattr(self.warehouse, name)


def _file_state(path: Path) -> tuple[int, int, bool]:
    return path.stat().st_size, path.stat().st_mtime_ns, path.with_name(path.name + ".wal").exists()


def test_a_warehouse_at_this_layout_opens_without_a_write(tmp_path):
    path = tmp_path / "warehouse.duckdb"
    connect = duckdb_connector(path)
    with connect() as wh:
        [(recorded,)] = wh.fetchall(f"SELECT fingerprint FROM {SCHEMA_LAYOUT}")
    before = _file_state(path)
    with connect() as wh:
        recording = Recording(wh)
        ensure_schema(recording)
    assert len(recording.statements) == 3
    assert not [s for s in recording.statements if s.split()[0] in ("INSERT", "UPDATE", "DELETE")]
    assert _file_state(path) == before
    with connect() as wh:
        assert wh.fetchall(f"SELECT fingerprint FROM {SCHEMA_LAYOUT}") == [(recorded,)]


def test_a_warehouse_recording_another_layout_is_brought_to_this_one(tmp_path):
    connect = duckdb_connector(tmp_path / "warehouse.duckdb")
    with connect() as wh:
        [(recorded,)] = wh.fetchall(f"SELECT fingerprint FROM {SCHEMA_LAYOUT}")
        wh.execute(f"UPDATE {SCHEMA_LAYOUT} SET fingerprint = 'an earlier layout'")
        wh.execute("DROP VIEW silver.customers")
        wh.execute("DROP TABLE audit.run_steps")
    with connect() as wh:
        assert wh.fetchall("SELECT COUNT(*) FROM silver.customers") == [(0,)]
        assert wh.fetchall("SELECT COUNT(*) FROM audit.run_steps") == [(0,)]
        assert wh.fetchall(f"SELECT fingerprint FROM {SCHEMA_LAYOUT}") == [(recorded,)]
