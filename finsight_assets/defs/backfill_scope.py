"""What a backfill run asks of its backfill: the business dates it requested (a UI backfill has
no manifest to say so until the sensor writes one) and whether the approval matrix holds what
its runs compute."""

from __future__ import annotations

from datetime import date

import dagster as dg

from finsight_assets.lib.backfills.manifests import approvals_required
from finsight_assets.lib.backfills.store import ManifestStore
from finsight_assets.lib.contract.run_tags import BACKFILL_ID_TAG, MANIFEST_TAG
from finsight_assets.lib.engines.warehouse import Connect


def requested_dates(backfill) -> dict[str, list[date]]:
    """Per asset (table name), the business dates a Dagster asset backfill targets."""
    requested: dict[str, list[date]] = {}
    for item in backfill.asset_backfill_data.target_subset.iterate_asset_partitions():
        if item.partition_key is not None:
            requested.setdefault(item.asset_key.to_user_string().replace("/", "."), []).append(
                date.fromisoformat(item.partition_key)
            )
    return requested


def needs_approval(context: dg.AssetExecutionContext, manifest_id: str, connect: Connect) -> bool:
    """Whether the run's backfill needs approval: as its manifest says, or, for a UI backfill
    whose manifest the sensor has not written yet, as the matrix says of its requested dates
    (the count the manifest will record)."""
    tags = context.run.tags
    store = ManifestStore(connect)
    if MANIFEST_TAG in tags or store.exists(manifest_id):
        return store.get(manifest_id).approvals_required > 0
    backfill = context.instance.get_backfill(tags[BACKFILL_ID_TAG])
    if backfill is None or backfill.asset_backfill_data is None:
        raise dg.Failure(f"run {context.run.run_id}: its backfill {tags[BACKFILL_ID_TAG]} is gone")
    days = {d for dates in requested_dates(backfill).values() for d in dates}
    return approvals_required(len(days)) > 0
