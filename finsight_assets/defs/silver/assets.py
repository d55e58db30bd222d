"""Silver assets: PySpark over the raw Parquet, staged, audited and published in the warehouse."""

from collections.abc import Callable

import dagster as dg

from finsight_assets.defs.checks import check_specs
from finsight_assets.defs.keys import asset_key, upstream_keys
from finsight_assets.defs.outcomes import run_and_report
from finsight_assets.defs.resources.local import LakeResource, SparkResource, WarehouseResource
from finsight_assets.defs.run_context import business_dates, run_info
from finsight_assets.lib.contract.code_versions import CODE_VERSIONS
from finsight_assets.lib.contract.tables import (
    SILVER_CUSTOMERS,
    SILVER_TRANSACTIONS,
    SILVER_TRANSACTIONS_REJECTED,
    TableSpec,
)
from finsight_assets.lib.layers import silver
from finsight_assets.lib.wap.model import LayerResult


def _spec(table: TableSpec, description: str, partitions_def: dg.PartitionsDefinition):
    return dg.AssetSpec(
        asset_key(table),
        description=description,
        deps=upstream_keys(table.qualified_name),
        partitions_def=partitions_def,
        code_version=CODE_VERSIONS[table.qualified_name],
        group_name="silver",
        kinds={"spark"},
        metadata={"dagster/table_name": table.qualified_name},
    )


def _run_silver(
    context: dg.AssetExecutionContext,
    tables: list[TableSpec],
    build: Callable[..., LayerResult],
    spark: SparkResource,
    lake: LakeResource,
    warehouse: WarehouseResource,
):
    run = run_info(context, warehouse.connect)
    yield from run_and_report(
        context,
        tables,
        run,
        warehouse,
        lambda: build(
            spark.silver_engine(context),
            lake.get_lake(),
            warehouse.connect,
            run,
            business_dates(context),
            CODE_VERSIONS[tables[0].qualified_name],
        ),
    )


def build_silver_assets(
    partitions_def: dg.PartitionsDefinition, policy: dg.BackfillPolicy
) -> list[dg.AssetsDefinition]:
    @dg.multi_asset(
        name="silver_transactions",
        specs=[
            _spec(
                SILVER_TRANSACTIONS,
                "Deduplicated, validated transactions with USD amounts, one row per event.",
                partitions_def,
            ),
            _spec(
                SILVER_TRANSACTIONS_REJECTED,
                "Raw transactions that failed a contract rule, with their reason_code.",
                partitions_def,
            ),
        ],
        check_specs=[
            *check_specs(SILVER_TRANSACTIONS, partitions_def),
            *check_specs(SILVER_TRANSACTIONS_REJECTED, partitions_def),
        ],
        # Checks report per partition (defs/checks.py), not as one result per check.
        can_subset=True,
        backfill_policy=policy,
        pool="warehouse",
    )
    def silver_transactions(
        context: dg.AssetExecutionContext,
        spark: SparkResource,
        lake: LakeResource,
        warehouse: WarehouseResource,
    ):
        """silver.transactions and silver.transactions_rejected, published together."""
        yield from _run_silver(
            context,
            [SILVER_TRANSACTIONS, SILVER_TRANSACTIONS_REJECTED],
            silver.build_silver_transactions,
            spark,
            lake,
            warehouse,
        )

    @dg.multi_asset(
        name="silver__customers",
        specs=[
            _spec(
                SILVER_CUSTOMERS,
                "The day's customer snapshot, latest row per customer, email hashed.",
                partitions_def,
            )
        ],
        check_specs=check_specs(SILVER_CUSTOMERS, partitions_def),
        can_subset=True,
        backfill_policy=policy,
        pool="warehouse",
    )
    def silver_customers(
        context: dg.AssetExecutionContext,
        spark: SparkResource,
        lake: LakeResource,
        warehouse: WarehouseResource,
    ):
        """silver.customers."""
        yield from _run_silver(
            context, [SILVER_CUSTOMERS], silver.build_silver_customers, spark, lake, warehouse
        )

    return [silver_transactions, silver_customers]
