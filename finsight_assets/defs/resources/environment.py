"""Resources by FINSIGHT_ENV, under the same keys (lake, warehouse, spark) in every environment."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import dagster as dg

from finsight_assets.defs.resources.local import LakeResource, WarehouseResource, local_resources
from finsight_assets.lib.settings import Settings


def resources_for(settings: Settings) -> dict[str, Any]:
    """Local files, Spark and DuckDB; or (prod) S3, EMR Serverless and Snowflake."""
    if settings.env == "prod":
        # Imported here: the AWS and Snowflake clients double the start-up time of every run
        # worker and code server, which the embedded default should not pay.
        from finsight_assets.defs.resources.prod import prod_resources

        return prod_resources()
    return local_resources(settings)


@contextmanager
def lake_and_warehouse(
    settings: Settings, as_operator: bool = False
) -> Iterator[tuple[LakeResource, WarehouseResource]]:
    """The environment's lake and warehouse outside a run (operator commands, the demo); in
    prod, `as_operator` reaches the warehouse as the engineer at the command line."""
    if settings.env == "prod" and as_operator:
        from finsight_assets.defs.resources.prod import operator_resources

        resources = operator_resources()
    else:
        resources = resources_for(settings)
    with dg.build_resources(
        {"lake": resources["lake"], "warehouse": resources["warehouse"]}
    ) as built:
        yield built.lake, built.warehouse
