"""Raw assets: landed Parquet partitions, observed; a partition's data version hashes its files."""

import dagster as dg

from finsight_assets.defs.resources.local import LakeResource
from finsight_assets.lib.contract.tables import RAW_TABLES
from finsight_assets.lib.layers.raw_files import landed_days_metadata, observed_versions

DESCRIPTIONS = {
    "transactions": "Transaction events as delivered by upstream, one folder per business date.",
    "fx_rates": "USD rate per currency and business date, as delivered by upstream.",
    "customers": "Full customer snapshot per business date, as delivered by upstream.",
}


def _raw_asset(table: str, partitions_def: dg.TimeWindowPartitionsDefinition):
    @dg.observable_source_asset(
        name=table,
        key_prefix=["raw"],
        description=DESCRIPTIONS[table],
        partitions_def=partitions_def,
        group_name="raw",
    )
    def _observe(context, lake: LakeResource) -> dg.DataVersionsByPartition:
        raw = lake.get_lake()
        landed = raw.raw_partitions(table)
        versions = observed_versions(landed, partitions_def.get_partition_keys())
        context.log.info("observed %d partition(s) of raw/%s", len(versions), table)
        unread = raw.unread_folders(table)
        for folder, why in unread.items():
            context.log.warning(f"raw/{table}/{folder}: {why}")
        # Dagster's partition view counts materializations only, and raw is observed, never
        # materialized: which days landed is said here, in the asset's latest observation.
        context.log_event(
            dg.AssetObservation(
                asset_key=context.asset_key,
                metadata={
                    **landed_days_metadata(landed, versions),
                    "folders_without_data": dg.MetadataValue.json(unread),
                },
            )
        )
        return dg.DataVersionsByPartition(versions)

    return _observe


def build_raw_assets(partitions_def: dg.TimeWindowPartitionsDefinition) -> list:
    return [_raw_asset(table, partitions_def) for table in RAW_TABLES]


raw_observation_job = dg.define_asset_job(
    "observe_raw",
    selection=dg.AssetSelection.groups("raw", include_sources=True),
    description="Hash every raw partition's files, so re-deliveries show as new data versions.",
)
