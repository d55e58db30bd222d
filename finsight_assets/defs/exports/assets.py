"""Exports: files handed to partners. Side effects: they run live, or when a manifest allows."""

import dagster as dg

from finsight_assets.defs.exports.provenance import export_day
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
        # Each day is its own materialization (`defs/exports/provenance.py`), not a range output.
        output_required=False,
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
        days = business_dates(context)
        if reason is not None:
            context.log.info(reason)
            # Each day reported as a materialization that wrote nothing, so a backfill counts
            # the partition as done rather than failed; the metadata says why.
            for d in days:
                yield export_day(
                    context.instance,
                    d,
                    {"suppressed": True, "reason": reason, "files": dg.MetadataValue.json([])},
                    written=False,
                )
            return
        files = lake.get_lake()
        with warehouse.connect() as connection:
            uris = {d: write_partner_export(connection, files, d) for d in days}
        for d, uri in uris.items():
            yield export_day(
                context.instance,
                d,
                {"files": dg.MetadataValue.json([uri]), "suppressed": False},
                written=True,
            )

    return [partner_daily_export]
