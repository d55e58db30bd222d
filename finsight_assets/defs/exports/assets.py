"""Exports: files handed to partners. Side effects: they run live, or when a manifest allows."""

import dagster as dg

from finsight_assets.defs.keys import key_of, upstream_keys
from finsight_assets.defs.resources.local import LakeResource, WarehouseResource
from finsight_assets.defs.run_context import (
    business_dates,
    run_info,
    run_mode,
    side_effects_allowed,
)
from finsight_assets.lib.contract.run_tags import SIDE_EFFECTS_TAG
from finsight_assets.lib.layers.exports import write_partner_export
from finsight_assets.lib.tables.partner_export import PARTNER_EXPORT
from finsight_assets.lib.tables.registry import CODE_VERSIONS


def build_export_assets(
    partitions_def: dg.PartitionsDefinition, policy: dg.BackfillPolicy
) -> list[dg.AssetsDefinition]:
    @dg.asset(
        key=key_of(PARTNER_EXPORT.qualified_name),
        description=PARTNER_EXPORT.description,
        deps=upstream_keys(PARTNER_EXPORT.qualified_name),
        partitions_def=partitions_def,
        code_version=CODE_VERSIONS[PARTNER_EXPORT.qualified_name],
        group_name="exports",
        kinds={"csv"},
        backfill_policy=policy,
    )
    def partner_daily_export(
        context: dg.AssetExecutionContext, lake: LakeResource, warehouse: WarehouseResource
    ):
        """The partner's daily CSV of customer summaries under the lake's exports/."""
        tags = dict(context.run.tags)
        # First: a run whose tags ask for what the operations store does not allow fails here.
        run = run_info(context, warehouse.connect)
        reason = None
        if not side_effects_allowed(tags):
            reason = (
                f"suppressed: a {run_mode(tags)} run writes no partner files unless its "
                f"manifest allows side effects ({SIDE_EFFECTS_TAG}=true)"
            )
        elif run.hold:
            reason = (
                "suppressed: the backfill is held for approval, and its gold is not live; "
                "export those days once it is published"
            )
        if reason is not None:
            context.log.info(reason)
            # Reported as a materialization that wrote nothing, so a backfill counts the
            # partition as done rather than failed; the metadata says why.
            yield dg.MaterializeResult(
                metadata={"suppressed": True, "reason": reason, "files": dg.MetadataValue.json([])}
            )
            return
        files = lake.get_lake()
        with warehouse.connect() as connection:
            uris = [write_partner_export(connection, files, d) for d in business_dates(context)]
        yield dg.MaterializeResult(
            metadata={"files": dg.MetadataValue.json(uris), "suppressed": False}
        )

    return [partner_daily_export]
