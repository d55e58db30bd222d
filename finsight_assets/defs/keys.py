"""Asset keys from table names: `silver.transactions` is the asset `silver/transactions`."""

import dagster as dg

from finsight_assets.lib.contract.tables import TableSpec
from finsight_assets.lib.tables.registry import UPSTREAM


def key_of(name: str) -> dg.AssetKey:
    return dg.AssetKey(name.split("."))


def asset_key(table: TableSpec) -> dg.AssetKey:
    return key_of(table.qualified_name)


def upstream_keys(name: str) -> list[dg.AssetKey]:
    return [key_of(parent) for parent in UPSTREAM[name]]
