"""The statements a publish runs inside its transaction, whether the rows come from staging
(`publish.py`) or from a held twin (`hold.py`): keep the replaced rows, swap, record, log."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from finsight_assets.lib.contract.tables import LINEAGE_COLUMN_NAMES, TableSpec
from finsight_assets.lib.engines.warehouse import Warehouse, bound
from finsight_assets.lib.wap import versions as recorded
from finsight_assets.lib.wap.layout import history_table
from finsight_assets.lib.wap.model import PartitionVersion, StagedPartitions


def partition_stats(warehouse: Warehouse, staged: StagedPartitions) -> dict[date, tuple[int, str]]:
    """Per staged date, its row count and checksum (an order-free sum of row hashes)."""
    row_hash = warehouse.row_hash_sql(staged.table.business_columns)
    rows = warehouse.fetchall(
        f"SELECT business_date, COUNT(*), SUM({row_hash}) FROM {staged.staging_table} "
        "GROUP BY business_date"
    )
    stats = {d: (0, "0:0") for d in staged.dates}
    for business_date, count, total in rows:
        stats[business_date] = (int(count), f"{int(count)}:{int(total) % (1 << 64):016x}")
    return stats


def replace_partitions(
    warehouse: Warehouse,
    table: TableSpec,
    versions: Sequence[PartitionVersion],
    rows: tuple[str, Sequence[Any]],
    note: str = "",
    run_id: str | None = None,
) -> None:
    """Inside the caller's transaction: move the partitions' rows to history, insert the new
    rows (`rows`: a SELECT of `{columns}` and its parameters), record the versions and swap
    the current ones (each must still be its `replaced_version_id`), log the publish."""
    name = table.qualified_name
    dates = sorted(v.business_date for v in versions)
    listed, date_params = bound(dates)
    columns = ", ".join(table.business_columns + LINEAGE_COLUMN_NAMES)
    warehouse.execute(
        f"INSERT INTO {history_table(table)} ({columns}) SELECT {columns} FROM {name} "
        f"WHERE business_date IN ({listed})",
        date_params,
    )
    warehouse.execute(f"DELETE FROM {name} WHERE business_date IN ({listed})", date_params)
    select, params = rows
    warehouse.execute(f"INSERT INTO {name} ({columns}) {select.format(columns=columns)}", params)
    recorded.record_versions(warehouse, versions)
    recorded.swap_current(
        warehouse,
        name,
        expected={v.business_date: v.replaced_version_id for v in versions},
        new={v.business_date: v.version_id for v in versions},
    )
    recorded.log_changes(
        warehouse,
        name,
        "publish",
        {v.business_date: (v.version_id, v.replaced_version_id) for v in versions},
        run_id or versions[0].run_id,
        versions[0].published_at,
        note=note,
    )
