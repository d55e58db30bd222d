"""The warehouse engines FinSight runs on, by the name the FINSIGHT_WAREHOUSE setting gives
them, and each one's flavour of the warehouse protocol (`warehouse.Warehouse`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from finsight_assets.lib.engines.warehouse import Warehouse

DUCKDB = "duckdb"
SNOWFLAKE = "snowflake"
WAREHOUSE_KINDS = (DUCKDB, SNOWFLAKE)


def warehouse_flavour(kind: str) -> type[Warehouse]:
    """The class of the engine's flavour, imported only when asked for (Snowflake's connector
    doubles the start-up time of whatever imports it)."""
    if kind == DUCKDB:
        from finsight_assets.lib.engines.duckdb_warehouse import DuckDBWarehouse

        return DuckDBWarehouse
    if kind == SNOWFLAKE:
        from finsight_assets.lib.engines.snowflake_warehouse import SnowflakeWarehouse

        return SnowflakeWarehouse
    raise ValueError(f"no warehouse engine {kind!r}: one of {', '.join(WAREHOUSE_KINDS)}")
