"""The partner export: a side effect outside the warehouse, so it is guarded by run mode."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

from finsight_assets.lib.contract import GOLD_DAILY_CUSTOMER_SUMMARY
from finsight_assets.lib.warehouse import Warehouse, date_literal


def partner_export_path(exports_dir: Path, business_date: date) -> Path:
    return exports_dir / f"partner_daily_export_{business_date.isoformat()}.csv"


def write_partner_export(warehouse: Warehouse, exports_dir: Path, business_date: date) -> Path:
    """The day's customer summaries as CSV; the file appears whole or not at all."""
    exports_dir.mkdir(parents=True, exist_ok=True)
    target = partner_export_path(exports_dir, business_date)
    partial = target.with_name(f".{target.name}.partial")
    columns = ", ".join(GOLD_DAILY_CUSTOMER_SUMMARY.business_columns)
    warehouse.export_csv(
        f"SELECT {columns} FROM {GOLD_DAILY_CUSTOMER_SUMMARY.qualified_name} "
        f"WHERE business_date = {date_literal(business_date)} ORDER BY customer_id",
        str(partial),
    )
    os.replace(partial, target)
    return target
