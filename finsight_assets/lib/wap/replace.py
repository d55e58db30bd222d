"""The statements a publish runs inside its transaction, whether the rows come from staging
(`publish.py`) or from a held twin (`held_publish.py`): keep the replaced rows, swap, verify,
record, log; and the one count-and-checksum of a version's rows every path verifies with."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from finsight_assets.lib.contract.tables import LINEAGE_COLUMN_NAMES, TableSpec
from finsight_assets.lib.engines.warehouse import Warehouse, bound
from finsight_assets.lib.wap import versions as recorded
from finsight_assets.lib.wap.layout import history_table
from finsight_assets.lib.wap.model import PartitionVersion, PublishError, StagedPartitions
from finsight_assets.lib.wap.profile import NO_ROWS_CHECKSUM, checksum, row_hash, staged_profile

# The count and checksum of no rows.
NO_ROWS = (0, NO_ROWS_CHECKSUM)


class VersionRowsDiffer(PublishError):
    """A version's rows are not the rows recorded for it (count or checksum): it is not made
    current, and the transaction that tried changes nothing."""


def relation_stats(
    warehouse: Warehouse,
    table: TableSpec,
    relation: str,
    params: Sequence[Any] = (),
    key: str = "business_date",
) -> dict[Any, tuple[int, str]]:
    """Per value of `key` among the rows of `relation` (a table of `table`'s columns, with an
    optional WHERE of `params`): their row count and checksum (`profile.checksum`)."""
    rows = warehouse.fetchall(
        f"SELECT {key}, COUNT(*), SUM({row_hash(warehouse, table)}) FROM {relation} GROUP BY {key}",
        params,
    )
    return {value: (int(count), checksum(count, total)) for value, count, total in rows}


def partition_stats(warehouse: Warehouse, staged: StagedPartitions) -> dict[date, tuple[int, str]]:
    """Per staged date, its row count and checksum, from the staged rows' one aggregate pass
    (`profile.py`): publish and hold record them, and verify the rows they write against them."""
    return {d: (p.rows, p.checksum) for d, p in staged_profile(warehouse, staged).items()}


def version_differences(
    warehouse: Warehouse, table: TableSpec, versions: Iterable[PartitionVersion], relation: str
) -> list[str]:
    """The versions whose rows in `relation` (`table`'s published, held or history twin) are
    not their recorded count and checksum, each named with what differs."""
    versions = list(versions)
    if not versions:
        return []
    ids, params = bound(sorted({v.version_id for v in versions}))
    found = relation_stats(
        warehouse, table, f"{relation} WHERE _version_id IN ({ids})", params, key="_version_id"
    )
    return [
        f"{v.table_name} {v.business_date} version {v.version_id}: recorded {v.row_count} "
        f"row(s), checksum {v.checksum}; its rows in {relation} are {rows} row(s), "
        f"checksum {found_checksum}"
        for v in sorted(versions, key=lambda v: (v.business_date, v.version_id))
        for rows, found_checksum in [found.get(v.version_id, NO_ROWS)]
        if (rows, found_checksum) != (v.row_count, v.checksum)
    ]


def verify_rows(
    warehouse: Warehouse,
    table: TableSpec,
    versions: Iterable[PartitionVersion],
    relation: str,
    action: str,
) -> None:
    """Refuse to `action` (VersionRowsDiffer) unless each version's rows in `relation` are its
    recorded ones: readers would otherwise see rows no version recorded."""
    differences = version_differences(warehouse, table, versions, relation)
    if differences:
        raise VersionRowsDiffer(
            f"{table.qualified_name}: refusing to {action}, the rows are not the ones recorded "
            f"for their versions ({'; '.join(differences)}); nothing was changed"
        )


def replace_partitions(
    warehouse: Warehouse,
    table: TableSpec,
    versions: Sequence[PartitionVersion],
    rows: tuple[str, Sequence[Any]],
    note: str = "",
    run_id: str | None = None,
) -> None:
    """Inside the caller's transaction: move the partitions' rows to history, insert the new
    rows (`rows`: a SELECT of `{columns}` and its parameters), verify they are the versions'
    recorded rows, record the versions and swap the current ones (each must still be its
    `replaced_version_id`), log the publish."""
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
    verify_rows(warehouse, table, versions, name, "publish")
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
