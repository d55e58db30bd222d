"""The audits' recorded verdicts (audit.check_results): recorded per partition and run, read
back by run."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from finsight_assets.lib.engines.warehouse import Warehouse, bound
from finsight_assets.lib.wap.audit_tables import CHECK_RESULTS, insert_records
from finsight_assets.lib.wap.model import CheckRecord


def record_checks(warehouse: Warehouse, records: Sequence[CheckRecord]) -> None:
    insert_records(warehouse, CHECK_RESULTS, records)


def checks_of_runs(warehouse: Warehouse, run_ids: Iterable[str]) -> list[CheckRecord]:
    ids = sorted(set(run_ids))
    if not ids:
        return []
    names = CHECK_RESULTS.column_names
    listed, params = bound(ids)
    rows = warehouse.fetchall(
        f"SELECT {', '.join(names)} FROM {CHECK_RESULTS.name} WHERE run_id IN ({listed})", params
    )
    return [CheckRecord(**dict(zip(names, row, strict=True))) for row in rows]


def check_counts(warehouse: Warehouse, run_ids: Sequence[str] | None = None) -> tuple[int, int]:
    """(passed, failed) checks per partition, for the given runs (default: all runs)."""
    where, params = "", []
    if run_ids:
        listed, params = bound(list(run_ids))
        where = f"WHERE run_id IN ({listed})"
    passed, failed = warehouse.fetchall(
        "SELECT COALESCE(SUM(CASE WHEN passed THEN 1 ELSE 0 END), 0), "
        f"COALESCE(SUM(CASE WHEN passed THEN 0 ELSE 1 END), 0) FROM {CHECK_RESULTS.name} "
        f"{where}",
        params,
    )[0]
    return int(passed), int(failed)
