"""A backfill as the UI's launcher leaves it in the Dagster instance, for the sensor that gives
it a manifest (`defs/sensors/backfill_manifests.py`): no manifest tag, whatever tags its
launcher typed, business-date partitions of one asset."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from types import SimpleNamespace

import dagster as dg


def ui_backfill(
    backfill_id: str, asset: str, days: Sequence[date], tags: Mapping[str, str]
) -> SimpleNamespace:
    """The backfill `backfill_id` of `asset` (e.g. `silver.customers`) over `days`."""
    targets = [
        SimpleNamespace(asset_key=dg.AssetKey(asset.split(".")), partition_key=d.isoformat())
        for d in days
    ]
    subset = SimpleNamespace(iterate_asset_partitions=lambda: iter(targets))
    return SimpleNamespace(
        backfill_id=backfill_id,
        tags=dict(tags),
        asset_backfill_data=SimpleNamespace(target_subset=subset),
    )
