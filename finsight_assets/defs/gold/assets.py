"""Gold assets: set-based SQL in the warehouse over the published silver tables."""

from collections.abc import Callable, Sequence
from datetime import date

import dagster as dg

from finsight_assets.defs.checks import check_specs
from finsight_assets.defs.keys import asset_key, upstream_keys
from finsight_assets.defs.outcomes import run_and_report
from finsight_assets.defs.partitions import chain_backfill_policy
from finsight_assets.defs.resources.local import WarehouseResource
from finsight_assets.defs.run_context import business_dates, run_info
from finsight_assets.lib.contract.code_versions import CODE_VERSIONS
from finsight_assets.lib.contract.tables import (
    GOLD_ACCOUNT_DAILY_BALANCE,
    GOLD_DAILY_CUSTOMER_SUMMARY,
    GOLD_SEGMENT_DAILY_REPORT,
    TableSpec,
)
from finsight_assets.lib.engines.warehouse import Warehouse
from finsight_assets.lib.layers import gold
from finsight_assets.lib.settings import Settings
from finsight_assets.lib.wap.model import LayerResult, RunInfo

Build = Callable[[Warehouse, RunInfo, Sequence[date], str], LayerResult]


def _gold_asset(
    table: TableSpec,
    description: str,
    build: Build,
    extra_deps: Sequence[dg.AssetDep],
    partitions_def: dg.PartitionsDefinition,
    policy: dg.BackfillPolicy,
    warehouse_kind: str,
) -> dg.AssetsDefinition:
    @dg.multi_asset(
        name=f"{table.schema}__{table.name}",
        specs=[
            dg.AssetSpec(
                asset_key(table),
                description=description,
                deps=[*upstream_keys(table.qualified_name), *extra_deps],
                partitions_def=partitions_def,
                code_version=CODE_VERSIONS[table.qualified_name],
                group_name="gold",
                kinds={"sql", warehouse_kind},
                metadata={"dagster/table_name": table.qualified_name},
            )
        ],
        check_specs=check_specs(table, partitions_def),
        # Checks report per partition (defs/checks.py), not as one result per check.
        can_subset=True,
        backfill_policy=policy,
        pool="warehouse",
    )
    def _asset(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
        """One gold table: SQL over the published silver, audited and published."""
        run = run_info(context, warehouse.connect)

        def compute() -> LayerResult:
            with warehouse.connect() as connection:
                return build(
                    connection, run, business_dates(context), CODE_VERSIONS[table.qualified_name]
                )

        yield from run_and_report(context, [table], run, warehouse, compute)

    return _asset


def build_gold_assets(
    partitions_def: dg.PartitionsDefinition, policy: dg.BackfillPolicy, settings: Settings
) -> list[dg.AssetsDefinition]:
    """Gold's assets; their kinds name the warehouse the environment runs them in."""
    first_date = settings.start_date
    balance_key = asset_key(GOLD_ACCOUNT_DAILY_BALANCE)
    previous_day = dg.TimeWindowPartitionMapping(start_offset=-1, end_offset=-1)
    return [
        _gold_asset(
            GOLD_DAILY_CUSTOMER_SUMMARY,
            "Per customer and day: transaction count, USD sums by event type and net flow.",
            gold.build_daily_customer_summary,
            [],
            partitions_def,
            policy,
            settings.warehouse_kind,
        ),
        _gold_asset(
            GOLD_SEGMENT_DAILY_REPORT,
            "Per segment, country and day: active customers, transactions and net flow.",
            gold.build_segment_daily_report,
            [],
            partitions_def,
            policy,
            settings.warehouse_kind,
        ),
        _gold_asset(
            GOLD_ACCOUNT_DAILY_BALANCE,
            "Per account and day: net flow and closing balance, carried over days without data.",
            lambda warehouse, run, dates, version: gold.build_account_daily_balance(
                warehouse, run, dates, version, first_date
            ),
            [dg.AssetDep(balance_key, partition_mapping=previous_day)],
            partitions_def,
            chain_backfill_policy(),
            settings.warehouse_kind,
        ),
    ]
