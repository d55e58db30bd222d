"""The partner export: a side effect outside the warehouse, so it is guarded by run mode."""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path

from finsight_assets.lib.engines.lake import Lake
from finsight_assets.lib.engines.warehouse import Warehouse, bind
from finsight_assets.lib.tables.partner_export import PARTNER_EXPORT
from finsight_assets.lib.tables.registry import TABLES_BY_NAME

# The table the partner file is a copy of (one file per business date).
EXPORTED_FROM = TABLES_BY_NAME[PARTNER_EXPORT.exported_from]


def partner_export_name(business_date: date) -> str:
    return f"partner_daily_export_{business_date.isoformat()}.csv"


def write_partner_export(warehouse: Warehouse, lake: Lake, business_date: date) -> str:
    """The day's customer summaries as CSV under the lake's exports/; whole or not at all."""
    name = partner_export_name(business_date)
    columns = ", ".join(EXPORTED_FROM.business_columns)
    day, params = bind(business_date)
    with tempfile.TemporaryDirectory(prefix="finsight-export-") as scratch:
        local = Path(scratch) / name
        warehouse.export_csv(
            f"SELECT {columns} FROM {EXPORTED_FROM.qualified_name} "
            f"WHERE business_date = {day} ORDER BY customer_id",
            str(local),
            params,
        )
        return lake.put_export(local, name)
