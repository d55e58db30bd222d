"""Two real sessions on one DuckDB file, for tests that interleave them statement by
statement."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from finsight_assets.lib.engines.duckdb_warehouse import DuckDBWarehouse
from finsight_assets.lib.wap.layout import ensure_schema


@pytest.fixture
def sessions(tmp_path: Path) -> Iterator[tuple[DuckDBWarehouse, DuckDBWarehouse]]:
    path = str(tmp_path / "warehouse.duckdb")
    first, second = duckdb.connect(path), duckdb.connect(path)
    try:
        a, b = DuckDBWarehouse(first), DuckDBWarehouse(second)
        ensure_schema(a)
        yield a, b
    finally:
        first.close()
        second.close()
