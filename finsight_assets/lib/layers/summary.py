"""What the warehouse holds: rows per table and the latest check outcomes, for people to read."""

from __future__ import annotations

from dataclasses import dataclass

from finsight_assets.lib.engines.warehouse import Warehouse
from finsight_assets.lib.tables.registry import TABLES
from finsight_assets.lib.wap.check_records import check_counts


@dataclass(frozen=True)
class TableSummary:
    name: str
    rows: int
    partitions: int
    first_date: str | None
    last_date: str | None


@dataclass(frozen=True)
class CheckSummary:
    passed: int
    failed: int


def table_summaries(warehouse: Warehouse) -> list[TableSummary]:
    summaries = []
    for table in TABLES:
        rows, partitions, first, last = warehouse.fetchall(
            "SELECT COUNT(*), COUNT(DISTINCT business_date), MIN(business_date), "
            f"MAX(business_date) FROM {table.qualified_name}"
        )[0]
        summaries.append(
            TableSummary(
                name=table.qualified_name,
                rows=int(rows),
                partitions=int(partitions),
                first_date=first.isoformat() if first else None,
                last_date=last.isoformat() if last else None,
            )
        )
    return summaries


def check_summary(warehouse: Warehouse, run_ids: list[str] | None = None) -> CheckSummary:
    """Passed and failed checks per partition, for the given runs (default: all runs)."""
    passed, failed = check_counts(warehouse, run_ids)
    return CheckSummary(passed=passed, failed=failed)
