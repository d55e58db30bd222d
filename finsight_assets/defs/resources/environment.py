"""Resources under the same keys (lake, warehouse, spark) in every environment: the lake of the
environment (FINSIGHT_ENV), silver's engine (FINSIGHT_SILVER_ENGINE: DuckDB or local Spark; EMR
Serverless in prod), the warehouse of its engine (FINSIGHT_WAREHOUSE)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import dagster as dg

from finsight_assets.defs.resources.local import (
    LakeResource,
    WarehouseResource,
    duckdb_warehouse,
    local_lake_and_spark,
)
from finsight_assets.lib.engines.warehouses import DUCKDB
from finsight_assets.lib.settings import SILVER_SPARK, Settings


def resources_for(settings: Settings, as_operator: bool = False) -> dict[str, Any]:
    """Local files and DuckDB or Spark, or (prod) S3 and EMR Serverless; DuckDB, or Snowflake
    (reached, `as_operator`, as the engineer at the command line: operator commands, outside
    runs)."""
    # Imported only when asked for: the AWS and Snowflake clients double the start-up time of
    # every run worker and code server, which the embedded default should not pay.
    if settings.env == "prod":
        from finsight_assets.defs.resources.prod import prod_lake_and_spark

        resources = prod_lake_and_spark()
    else:
        resources = local_lake_and_spark(settings)
        if settings.silver_engine_kind == SILVER_SPARK:
            # PySpark and dagster-pyspark are loaded only for the engine that needs them.
            from finsight_assets.defs.resources.local_spark import local_spark

            resources["spark"] = local_spark(settings)
    if settings.warehouse_kind == DUCKDB:
        resources["warehouse"] = duckdb_warehouse(settings)
    else:
        from finsight_assets.defs.resources.prod import snowflake_warehouse

        resources["warehouse"] = snowflake_warehouse(resources["lake"], as_operator=as_operator)
    return resources


@contextmanager
def lake_and_warehouse(
    settings: Settings, as_operator: bool = False
) -> Iterator[tuple[LakeResource, WarehouseResource]]:
    """The environment's lake and warehouse outside a run (operator commands, the demo); where
    the engine authenticates users, `as_operator` reaches the warehouse as the engineer at the
    command line."""
    resources = resources_for(settings, as_operator)
    with dg.build_resources(
        {"lake": resources["lake"], "warehouse": resources["warehouse"]}
    ) as built:
        yield built.lake, built.warehouse
