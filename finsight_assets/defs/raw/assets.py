"""Raw assets: landed Parquet partitions, delivered by upstream and never computed here.

They are external assets (specs without a function). The `observe_raw` job reports each day
that landed as a materialization of that partition (Dagster's partition view counts
materializations only), with its files, rows and data version; a day without files before the
latest delivery is reported as an observation of a "no-data" version, so a withdrawn delivery
changes the day's version too. `finsight materialize` records the same events without a run
(`report.py`).
"""

import dagster as dg

from finsight_assets.defs.raw.report import observe_table
from finsight_assets.defs.resources.local import LakeResource
from finsight_assets.lib.contract.tables import RAW_TABLES

DESCRIPTIONS = {
    "transactions": "Transaction events as delivered by upstream, one folder per business date.",
    "fx_rates": "USD rate per currency and business date, as delivered by upstream.",
    "customers": "Full customer snapshot per business date, as delivered by upstream.",
}


def build_raw_assets(partitions_def: dg.TimeWindowPartitionsDefinition) -> list[dg.AssetSpec]:
    return [
        dg.AssetSpec(
            key=["raw", table],
            description=DESCRIPTIONS[table],
            partitions_def=partitions_def,
            group_name="raw",
            kinds={"parquet"},
        )
        for table in RAW_TABLES
    ]


def build_raw_observation_job(
    partitions_def: dg.TimeWindowPartitionsDefinition,
) -> dg.JobDefinition:
    @dg.op(name="observe_raw_files")
    def observe_raw_files(context: dg.OpExecutionContext, lake: LakeResource) -> None:
        """Hash, count and report every raw day's files."""
        raw = lake.get_lake()
        keys = partitions_def.get_partition_keys()
        for table in RAW_TABLES:
            observed = observe_table(raw, table, keys)
            for event in observed.days:
                context.log_event(event)
            for warning in observed.warnings:
                context.log.warning(warning)
            context.log_event(observed.summary)
            context.log.info(observed.note)

    @dg.job(
        name="observe_raw",
        description="Report every raw day that landed, with its files, rows and data version, "
        "so re-deliveries show as new data versions.",
    )
    def observe_raw() -> None:
        observe_raw_files()

    return observe_raw
