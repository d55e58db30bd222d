"""The partner export: a side effect outside the warehouse, so it is guarded by run mode (a
run's, `defs/exports`) or by its manifest (a held publish's or a rollback's)."""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from finsight_assets.lib.engines.lake import Lake
from finsight_assets.lib.engines.warehouse import Warehouse, bind
from finsight_assets.lib.tables.partner_export import PARTNER_EXPORT
from finsight_assets.lib.tables.registry import TABLES_BY_NAME

logger = logging.getLogger(__name__)

# The table the partner file is a copy of (one file per business date).
EXPORTED_FROM = TABLES_BY_NAME[PARTNER_EXPORT.exported_from]


_PREFIX, _SUFFIX = "partner_daily_export_", ".csv"


def partner_export_name(business_date: date) -> str:
    return f"{_PREFIX}{business_date.isoformat()}{_SUFFIX}"


def partner_export_day(uri: str) -> date:
    """The business date of a partner file, from its name (`partner_export_name`)."""
    name = uri.rstrip("/").rsplit("/", 1)[-1]
    return date.fromisoformat(name.removeprefix(_PREFIX).removesuffix(_SUFFIX))


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


@dataclass(frozen=True)
class ExportsRewritten:
    """The partner files written again after the days' rows changed outside a run (an approved
    held publish, a rollback), or why none were."""

    files: list[str]
    why_not: str | None = None

    def to_json(self) -> dict[str, Any]:
        answer: dict[str, Any] = {"exports": self.files}
        if self.why_not is not None:
            answer["exports_not_written"] = self.why_not
        return answer


def rewrite_partner_exports(
    warehouse: Warehouse, lake: Lake, days: Sequence[date], side_effects_allowed: bool
) -> ExportsRewritten:
    """The partner file of each day written again from the published rows, under the guard a
    run's export is under: only where the backfill's manifest allows side effects. A file that
    cannot be written is said, not raised: the rows are published whatever the lake does."""
    if not days:
        return ExportsRewritten([])
    if not side_effects_allowed:
        return ExportsRewritten(
            [],
            f"not written: the backfill's manifest does not allow side effects, so the partner "
            f"files of {len(days)} day(s) from {min(days)} still hold the rows before it",
        )
    files: list[str] = []
    for day in sorted(days):
        try:
            files.append(write_partner_export(warehouse, lake, day))
        except Exception as error:  # the lake's errors differ by flavour (local, S3)
            logger.warning("partner export of %s not written: %s", day, error)
            return ExportsRewritten(files, f"the partner file of {day} failed: {error}")
    return ExportsRewritten(files)
