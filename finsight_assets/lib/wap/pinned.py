"""Reading exactly the partition versions a computation records as its inputs, by version id,
from the table's versions table: whether current, replaced by a publish since (a republish,
perhaps rolled back again before this one publishes), or held by the run's backfill, a
version's rows stay in that one place from the insert that wrote them, so gold computed from,
and audited against, the versions it records never sees the rows of a version in between.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from finsight_assets.lib.contract.tables import LINEAGE_COLUMN_NAMES, TableSpec
from finsight_assets.lib.engines.warehouse import bound
from finsight_assets.lib.wap.hold import relation
from finsight_assets.lib.wap.layout import versions_table
from finsight_assets.lib.wap.model import RunInfo, StagedPartitions


def versions_select(
    run: RunInfo, table: TableSpec, version_ids: Iterable[str]
) -> tuple[str, list[Any]]:
    """A SELECT of the rows of the given versions of `table`, with its parameters."""
    names = ", ".join(table.business_columns + LINEAGE_COLUMN_NAMES)
    ids, params = bound(sorted(set(version_ids)))
    return f"SELECT {names} FROM {versions_table(table)} WHERE _version_id IN ({ids})", params


def source_relation(staged: StagedPartitions, table: TableSpec) -> tuple[str, list[Any]]:
    """What an audit of `staged` reads `table` from, for a FROM clause: the versions `staged`
    records it was computed from, else what its run reads (`hold.relation`)."""
    recorded = staged.sources.get(table.qualified_name)
    if not recorded:
        return relation(staged.run, table)
    sql, params = versions_select(staged.run, table, recorded.values())
    return f"({sql}) AS pinned_{table.schema}_{table.name}", params
