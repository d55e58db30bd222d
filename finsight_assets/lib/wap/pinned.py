"""Reading exactly the partition versions a computation records as its inputs, wherever their
rows are when the statement runs: published, moved to history by a publish since (a republish,
perhaps rolled back again before this one publishes), or held by the run's backfill.

A version's rows are in one of those places at any moment (a publish or rollback moves them in
one transaction), and one statement reads one moment; so gold computed from, and audited
against, the versions it records never sees the rows of a version in between.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from finsight_assets.lib.contract.tables import LINEAGE_COLUMN_NAMES, TableSpec
from finsight_assets.lib.engines.warehouse import bound
from finsight_assets.lib.wap.hold import relation
from finsight_assets.lib.wap.layout import held_table, history_table
from finsight_assets.lib.wap.model import RunInfo, StagedPartitions


def versions_select(
    run: RunInfo, table: TableSpec, version_ids: Iterable[str]
) -> tuple[str, list[Any]]:
    """A SELECT of the rows of the given versions of `table`, with its parameters."""
    names = ", ".join(table.business_columns + LINEAGE_COLUMN_NAMES)
    places = [table.qualified_name, history_table(table)]
    if run.hold and run.manifest_id:
        places.append(held_table(table))
    ids, params = bound(sorted(set(version_ids)))
    sql = " UNION ALL ".join(
        f"SELECT {names} FROM {place} WHERE _version_id IN ({ids})" for place in places
    )
    return sql, params * len(places)


def source_relation(staged: StagedPartitions, table: TableSpec) -> tuple[str, list[Any]]:
    """What an audit of `staged` reads `table` from, for a FROM clause: the versions `staged`
    records it was computed from, else what its run reads (`hold.relation`)."""
    recorded = staged.sources.get(table.qualified_name)
    if not recorded:
        return relation(staged.run, table)
    sql, params = versions_select(staged.run, table, recorded.values())
    return f"({sql}) AS pinned_{table.schema}_{table.name}", params
