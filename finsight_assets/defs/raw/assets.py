"""Raw assets: landed Parquet partitions, delivered by upstream and never computed here.

They are external assets (specs without a function). The `observe_raw` job reports each day
that landed as a materialization of that partition (Dagster's partition view counts
materializations only), with its files, rows and data version; a day without files before the
latest delivery is reported as an observation of a "no-data" version, so a withdrawn delivery
changes the day's version too.
"""

import dagster as dg

from finsight_assets.defs.data_version_tags import DATA_VERSION_TAG
from finsight_assets.defs.resources.local import LakeResource
from finsight_assets.lib.contract.tables import RAW_TABLES
from finsight_assets.lib.layers.raw_files import (
    landed_days,
    landed_days_metadata,
    observed_versions,
)

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


def _report(context: dg.OpExecutionContext, lake, table: str, keys: list[str]) -> None:
    """Report one raw table: a materialization per landed day, an observation per gap, and a
    summary observation of the whole table."""
    asset_key = dg.AssetKey(["raw", table])
    landed = lake.raw_partitions(table)
    versions = observed_versions(landed, keys)
    days = landed_days(lake, table, landed, versions)
    for day in days:
        context.log_event(
            dg.AssetMaterialization(
                asset_key=asset_key,
                partition=day.business_date.isoformat(),
                description=day.problem or "landed",
                metadata=day.metadata(),
                tags={DATA_VERSION_TAG: day.version},
            )
        )
    with_files = {day.business_date.isoformat() for day in days}
    for key, version in versions.items():
        if key not in with_files:
            context.log_event(
                dg.AssetObservation(
                    asset_key=asset_key,
                    partition=key,
                    description="no files landed for this day",
                    metadata={"files": 0, "data_version": version},
                    tags={DATA_VERSION_TAG: version},
                )
            )
    unread = lake.unread_folders(table)
    for folder, why in unread.items():
        context.log.warning(f"raw/{table}/{folder}: {why}")
    context.log_event(
        dg.AssetObservation(
            asset_key=asset_key,
            metadata={
                **landed_days_metadata(landed, versions),
                "folders_without_data": dg.MetadataValue.json(unread),
            },
        )
    )
    context.log.info(f"observed {len(versions)} day(s) of raw/{table}, {len(days)} with files")


def build_raw_observation_job(
    partitions_def: dg.TimeWindowPartitionsDefinition,
) -> dg.JobDefinition:
    @dg.op(name="observe_raw_files")
    def observe_raw_files(context: dg.OpExecutionContext, lake: LakeResource) -> None:
        """Hash, count and report every raw day's files."""
        raw = lake.get_lake()
        keys = partitions_def.get_partition_keys()
        for table in RAW_TABLES:
            _report(context, raw, table, keys)

    @dg.job(
        name="observe_raw",
        description="Report every raw day that landed, with its files, rows and data version, "
        "so re-deliveries show as new data versions.",
    )
    def observe_raw() -> None:
        observe_raw_files()

    return observe_raw
