"""Late and corrected deliveries: published partitions whose raw input has changed since."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from finsight_assets.lib.backfills.planning import raw_input_versions
from finsight_assets.lib.backfills.store import ManifestStore
from finsight_assets.lib.contract.tables import SILVER_CUSTOMERS, SILVER_TRANSACTIONS
from finsight_assets.lib.engines.lake import Lake
from finsight_assets.lib.engines.warehouse import Warehouse
from finsight_assets.lib.layers.raw_files import combine_versions
from finsight_assets.lib.wap import audit_schema


def published_inputs(warehouse: Warehouse) -> dict[str, dict[date, str]]:
    """Per silver table, the raw input version each published partition was computed from."""
    return {
        table.qualified_name: {
            p.business_date: p.input_version
            for p in audit_schema.published_partitions(warehouse, table.qualified_name)
        }
        for table in (SILVER_TRANSACTIONS, SILVER_CUSTOMERS)
    }


def changed_inputs(
    published: Mapping[str, Mapping[date, str]], lake: Lake
) -> dict[str, list[date]]:
    """Per silver table, the published dates whose raw files no longer match what was read."""
    transactions = published[SILVER_TRANSACTIONS.qualified_name]
    customers = published[SILVER_CUSTOMERS.qualified_name]
    raw = raw_input_versions(lake, set(transactions) | set(customers))
    changed: dict[str, list[date]] = {}
    for d, published in sorted(transactions.items()):
        now = raw[d.isoformat()]
        if combine_versions(now["transactions"], now["fx_rates"]) != published:
            changed.setdefault(SILVER_TRANSACTIONS.qualified_name, []).append(d)
    for d, published in sorted(customers.items()):
        if raw[d.isoformat()]["customers"] != published:
            changed.setdefault(SILVER_CUSTOMERS.qualified_name, []).append(d)
    return changed


def not_yet_planned(
    changed: Mapping[str, list[date]], store: ManifestStore, lake: Lake
) -> dict[str, list[date]]:
    """Leave out dates some manifest was already planned on with today's raw input.

    That includes a backfill that was rolled back: its input is left alone until a newer
    delivery arrives (or someone plans it by hand).
    """
    dates = {d for ds in changed.values() for d in ds}
    if not dates:
        return {}
    current = raw_input_versions(lake, dates)
    planned = {
        (d, frozenset(versions.items()))
        for manifest in store.list()
        for d, versions in manifest.input_versions.items()
    }
    remaining = {
        table: [
            d
            for d in ds
            if (d.isoformat(), frozenset(current[d.isoformat()].items())) not in planned
        ]
        for table, ds in changed.items()
    }
    return {table: ds for table, ds in remaining.items() if ds}
