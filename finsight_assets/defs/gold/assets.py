"""Gold assets: each declared gold table's SQL in the warehouse over the published silver."""

from collections.abc import Sequence

import dagster as dg

from finsight_assets.defs.checks import check_specs
from finsight_assets.defs.keys import asset_key, upstream_keys
from finsight_assets.defs.outcomes import run_and_report
from finsight_assets.defs.partitions import chain_backfill_policy
from finsight_assets.defs.resources.local import WarehouseResource
from finsight_assets.defs.run_context import business_dates, run_info
from finsight_assets.lib.layers import gold
from finsight_assets.lib.settings import Settings
from finsight_assets.lib.tables.declaration import Table
from finsight_assets.lib.tables.registry import CODE_VERSIONS, GOLD_TABLES
from finsight_assets.lib.wap.model import LayerResult

# A self-dependent table's partition reads its own previous day.
_PREVIOUS_DAY = dg.TimeWindowPartitionMapping(start_offset=-1, end_offset=-1)


def _gold_asset(
    table: Table,
    partitions_def: dg.PartitionsDefinition,
    policy: dg.BackfillPolicy,
    settings: Settings,
) -> dg.AssetsDefinition:
    own_previous_day: Sequence[dg.AssetDep] = (
        [dg.AssetDep(asset_key(table), partition_mapping=_PREVIOUS_DAY)]
        if table.self_dependent
        else []
    )

    @dg.multi_asset(
        name=f"{table.schema}__{table.name}",
        specs=[
            dg.AssetSpec(
                asset_key(table),
                description=table.description,
                deps=[*upstream_keys(table.qualified_name), *own_previous_day],
                partitions_def=partitions_def,
                code_version=CODE_VERSIONS[table.qualified_name],
                group_name="gold",
                kinds={"sql", settings.warehouse_kind},
                metadata={"dagster/table_name": table.qualified_name},
            )
        ],
        check_specs=check_specs(table, partitions_def),
        # Checks report per partition (defs/checks.py), not as one result per check.
        can_subset=True,
        # The balance chain runs its whole backfill range in one run.
        backfill_policy=chain_backfill_policy() if table.self_dependent else policy,
        pool="warehouse",
    )
    def _asset(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
        """One gold table: SQL over the published silver, audited and published."""
        run = run_info(context, warehouse.connect)

        def compute() -> LayerResult:
            with warehouse.connect() as connection:
                return gold.build_gold(
                    connection,
                    run,
                    table,
                    business_dates(context),
                    CODE_VERSIONS[table.qualified_name],
                    settings.start_date,
                )

        yield from run_and_report(context, [table], run, warehouse, compute)

    return _asset


def build_gold_assets(
    partitions_def: dg.PartitionsDefinition, policy: dg.BackfillPolicy, settings: Settings
) -> list[dg.AssetsDefinition]:
    """Gold's assets; their kinds name the warehouse the environment runs them in."""
    return [_gold_asset(table, partitions_def, policy, settings) for table in GOLD_TABLES]
