"""The statements a publish runs inside its transaction, whether the rows come from staging
(`publish.py`) or were written when held (`held_publish.py`): write the new versions' rows into
the versions table (once, from staging only), verify them, record, swap the current versions,
log; and the one count-and-checksum of a version's rows every path verifies with. Nothing of
the replaced versions is copied or deleted: they stay in the versions table, for rollback."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any

from finsight_assets.lib.contract.tables import LINEAGE_COLUMN_NAMES, TableSpec
from finsight_assets.lib.engines.warehouse import Warehouse, bound
from finsight_assets.lib.wap import versions as recorded
from finsight_assets.lib.wap.layout import versions_table
from finsight_assets.lib.wap.model import PartitionVersion, PublishError, StagedPartitions
from finsight_assets.lib.wap.profile import (
    NO_ROWS_CHECKSUM,
    ROW_HASH,
    check_hash,
    checksum,
    row_hash,
    staged_profile,
)

# The count and checksum of no rows.
NO_ROWS = (0, NO_ROWS_CHECKSUM)


class VersionRowsDiffer(PublishError):
    """A version's rows are not the rows recorded for it (count or checksum): it is not made
    current, and the transaction that tried changes nothing."""


def partition_stats(warehouse: Warehouse, staged: StagedPartitions) -> dict[date, tuple[int, str]]:
    """Per staged date, its row count and checksum, from the staged rows' one aggregate pass
    (`profile.py`): publish and hold record them, and verify the rows they write against them."""
    return {d: (p.rows, p.checksum) for d, p in staged_profile(warehouse, staged).items()}


def staged_check_sums(warehouse: Warehouse, staged: StagedPartitions) -> dict[str, int] | None:
    """Per staged version id, the sum of its rows' check hashes as its stage found them; None
    where the warehouse has no check hash (`Warehouse.check_hash_sql`)."""
    if check_hash(warehouse, staged.table) is None:
        return None
    profile = staged_profile(warehouse, staged)
    return {staged.version_ids[d]: profile[d].check_sum or 0 for d in staged.dates}


def _version_stats(
    warehouse: Warehouse,
    table: TableSpec,
    relation: str,
    version_ids: Sequence[str],
    rehash: bool = True,
) -> dict[str, tuple[int, str, int]]:
    """Per version among `version_ids` with rows in `relation`: its row count, the checksum of
    its rows' values (hashed anew) and how many rows' stored `ROW_HASH` is another hash (one
    whose value or hash was edited; a row without one, left by an interrupted migration,
    is hashed on read). `rehash` False: the checksum of the stored hashes, which the caller
    knows are their values' (nothing counted as edited)."""
    ids, params = bound(sorted(set(version_ids)))
    hashed = row_hash(warehouse, table) if rehash else ROW_HASH
    rows = warehouse.fetchall(
        "SELECT _version_id, COUNT(*), SUM(hashed), "
        f"SUM(CASE WHEN {ROW_HASH} <> hashed THEN 1 ELSE 0 END) FROM ("
        f"SELECT _version_id, {ROW_HASH}, {hashed} AS hashed "
        f"FROM {relation} WHERE _version_id IN ({ids})) AS version_rows GROUP BY 1",
        params,
    )
    return {
        version: (int(count), checksum(count, total), int(stale or 0))
        for version, count, total, stale in rows
    }


def version_differences(
    warehouse: Warehouse,
    table: TableSpec,
    versions: Iterable[PartitionVersion],
    relation: str,
    rehash: bool = True,
) -> list[str]:
    """The versions whose rows in `relation` (`table`'s versions table) are not their recorded
    count and checksum, or whose stored row hashes are not their values' (which the diff
    reads), each named with what differs. `rehash`: `_version_stats`'."""
    versions = sorted(versions, key=lambda v: (v.business_date, v.version_id))
    if not versions:
        return []
    found = _version_stats(warehouse, table, relation, [v.version_id for v in versions], rehash)
    differences = []
    for v in versions:
        rows, found_checksum, stale = found.get(v.version_id, (*NO_ROWS, 0))
        if (rows, found_checksum) != (v.row_count, v.checksum):
            differences.append(
                f"{v.table_name} {v.business_date} version {v.version_id}: recorded "
                f"{v.row_count} row(s), checksum {v.checksum}; its rows in {relation} are "
                f"{rows} row(s), checksum {found_checksum}"
            )
        elif stale:
            differences.append(
                f"{v.table_name} {v.business_date} version {v.version_id}: {stale} of its rows "
                f"in {relation} store a row hash that is not their values' hash"
            )
    return differences


def verify_rows(
    warehouse: Warehouse,
    table: TableSpec,
    versions: Iterable[PartitionVersion],
    relation: str,
    action: str,
    rehash: bool = True,
) -> None:
    """Refuse to `action` (VersionRowsDiffer) unless each version's rows in `relation` are its
    recorded ones: readers would otherwise see rows no version recorded. `rehash`:
    `_version_stats`'."""
    _refuse_unless_none(
        table, action, version_differences(warehouse, table, versions, relation, rehash)
    )


def _refuse_unless_none(table: TableSpec, action: str, differences: Sequence[str]) -> None:
    if differences:
        raise VersionRowsDiffer(
            f"{table.qualified_name}: refusing to {action}, the rows are not the ones recorded "
            f"for their versions ({'; '.join(differences)}); nothing was changed"
        )


def _staged_value_differences(
    warehouse: Warehouse,
    table: TableSpec,
    versions: Sequence[PartitionVersion],
    rows: tuple[str, Sequence[Any]],
    check_sums: Mapping[str, int],
) -> list[str]:
    """The versions whose rows as `rows` selects them (the SELECT a publish writes) are not the
    values their stage hashed: their check hashes (`Warehouse.check_hash_sql`) do not sum to
    `check_sums`' (per version id)."""
    select, params = rows
    checked = f"_version_id, {check_hash(warehouse, table)} AS checked"
    found = {
        version: int(total or 0)
        for version, total in warehouse.fetchall(
            f"SELECT _version_id, SUM(checked) FROM ({select.format(columns=checked)}) "
            "AS staged_rows GROUP BY 1",
            params,
        )
    }
    sums = {v: (found.get(v.version_id, 0), check_sums.get(v.version_id, 0)) for v in versions}
    return [
        f"{v.table_name} {v.business_date} version {v.version_id}: its staged rows are not "
        f"the values its stage hashed (check hashes sum to {now}, {then} at stage)"
        for v, (now, then) in sums.items()
        if now != then
    ]


def replace_partitions(
    warehouse: Warehouse,
    table: TableSpec,
    versions: Sequence[PartitionVersion],
    rows: tuple[str, Sequence[Any]] | None,
    note: str = "",
    run_id: str | None = None,
    check_sums: Mapping[str, int] | None = None,
) -> None:
    """Inside the caller's transaction: write the new versions' rows into the versions table
    (`rows`: a SELECT of `{columns}`, the business and lineage columns and the row hash, from
    the staged rows, and its parameters) and verify they are the versions' recorded rows,
    record the versions and swap the current ones (each must still be its
    `replaced_version_id`), log the publish. `rows` None: the versions are held ones, their
    rows written when held and verified by the caller under the same locks
    (`held_publish.evidence_differences`), so nothing is written or read again.

    A staged row edited since its stage hashed it is caught either way, and nothing changes:
    - without `check_sums`, the INSERT hashes the values it writes (not copying the staged
      hashes), so their sum is the written values' checksum, compared with the one recorded
      at stage;
    - with them (per version id, the sum of the check hashes its stage found: a warehouse
      with a check hash), the staged rows' check hashes are summed and compared first, at a
      seventh of the cost, and the INSERT copies the staged hashes. Nothing runs between the
      two but this code, on the connection whose temporary table the staged rows are.
    Then the written rows' count and the sum of their stored hashes are compared with the
    recorded ones (two columns read back)."""
    name = table.qualified_name
    if rows is not None:
        if check_sums is not None:
            _refuse_unless_none(
                table,
                "publish",
                _staged_value_differences(warehouse, table, versions, rows, check_sums),
            )
        names = (*table.business_columns, *LINEAGE_COLUMN_NAMES)
        written = ", ".join((*names, ROW_HASH))
        hashed = ROW_HASH if check_sums is not None else row_hash(warehouse, table)
        select, params = rows
        warehouse.execute(
            f"INSERT INTO {versions_table(table)} ({written}) "
            f"{select.format(columns=', '.join((*names, hashed)))}",
            params,
        )
        verify_rows(warehouse, table, versions, versions_table(table), "publish", rehash=False)
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
