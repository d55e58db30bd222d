"""Silver assets: the silver SQL over the raw Parquet (on the `spark` resource's engine: DuckDB,
local Spark or EMR Serverless), staged, audited and published in the warehouse, one multi-asset
per declared raw source (`lib/tables`) with every table it computes."""

import dagster as dg

from finsight_assets.defs.checks import check_specs
from finsight_assets.defs.keys import asset_key, upstream_keys
from finsight_assets.defs.outcomes import run_and_report
from finsight_assets.defs.resources.local import LakeResource, SparkResource, WarehouseResource
from finsight_assets.defs.run_context import business_dates, run_info
from finsight_assets.lib.layers import silver
from finsight_assets.lib.layers.raw_files import data_version
from finsight_assets.lib.tables.declaration import RawSource, Table
from finsight_assets.lib.tables.registry import CODE_VERSIONS, SOURCES


def _spec(table: Table, partitions_def: dg.PartitionsDefinition) -> dg.AssetSpec:
    return dg.AssetSpec(
        asset_key(table),
        description=table.description,
        deps=upstream_keys(table.qualified_name),
        partitions_def=partitions_def,
        code_version=CODE_VERSIONS[table.qualified_name],
        group_name="silver",
        kinds={"spark"},
        metadata={"dagster/table_name": table.qualified_name},
    )


def _silver_asset(
    source: RawSource,
    tables: tuple[Table, ...],
    partitions_def: dg.PartitionsDefinition,
    policy: dg.BackfillPolicy,
) -> dg.AssetsDefinition:
    first = tables[0]

    @dg.multi_asset(
        name=f"{first.schema}__{first.name}",
        specs=[_spec(table, partitions_def) for table in tables],
        check_specs=[spec for table in tables for spec in check_specs(table, partitions_def)],
        # Checks report per partition (defs/checks.py), not as one result per check.
        can_subset=True,
        backfill_policy=policy,
        pool="warehouse",
    )
    def _asset(
        context: dg.AssetExecutionContext,
        spark: SparkResource,
        lake: LakeResource,
        warehouse: WarehouseResource,
    ):
        """The silver tables of one raw source, published together."""
        run = run_info(context, warehouse.connect)
        raw = lake.get_lake()
        yield from run_and_report(
            context,
            tables,
            run,
            warehouse,
            lambda: silver.build_silver(
                source,
                spark.silver_engine(context),
                raw,
                warehouse.connect,
                run,
                business_dates(context),
                CODE_VERSIONS[first.qualified_name],
            ),
            # A raw day's data version, as its observation hashes it.
            lambda table, day: data_version(raw.raw_files(table, day)),
        )

    return _asset


def build_silver_assets(
    partitions_def: dg.PartitionsDefinition, policy: dg.BackfillPolicy
) -> list[dg.AssetsDefinition]:
    return [
        _silver_asset(source, tables, partitions_def, policy) for source, tables in SOURCES.items()
    ]
