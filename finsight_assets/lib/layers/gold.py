"""Gold end to end: each table's declared SQL in the warehouse over the published tables it reads,
write-audit-publish.

Gold reads exactly the partition versions it records as its inputs (`wap/pinned.py`): the
silver versions current when it started, and the balance chain's opening day. A silver
republish and rollback while gold computes cannot give gold the rows of the version in between;
publishing still refuses if a recorded version is no longer current.

A run whose backfill needs approval reads its own held versions (silver, and the balance chain's
opening day) where it holds them and the published ones elsewhere, and holds what it computes.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from finsight_assets.lib.contract.run_tags import DRY_RUN
from finsight_assets.lib.contract.tables import TableSpec
from finsight_assets.lib.engines.warehouse import Warehouse
from finsight_assets.lib.layers.raw_files import combine_versions
from finsight_assets.lib.tables.declaration import GoldSql, Table
from finsight_assets.lib.tables.registry import TABLES_BY_NAME
from finsight_assets.lib.wap import hold, publish
from finsight_assets.lib.wap.held_versions import held_versions
from finsight_assets.lib.wap.model import LayerResult, PublishError, RunInfo
from finsight_assets.lib.wap.pinned import versions_select
from finsight_assets.lib.wap.versions import latest_published_dates, published_partitions


class MissingInput(PublishError):
    """What a gold partition is computed from is not published."""


@dataclass(frozen=True)
class _Inputs:
    """The silver partitions a gold computation reads: their versions now, and per date the
    combined raw input version they were computed from."""

    versions: dict[str, dict[date, str]]
    input_versions: dict[date, str]


def _readable(
    warehouse: Warehouse, run: RunInfo, table: TableSpec, dates: Sequence[date]
) -> dict[date, tuple[str, str]]:
    """Per date, the (version id, input version) a run reads of a table: its backfill's held
    version where it holds one, else the published one."""
    found = {
        p.business_date: (p.version_id, p.input_version)
        for p in published_partitions(warehouse, table.qualified_name, dates)
    }
    if run.hold and run.manifest_id:
        wanted = set(dates)
        for h in held_versions(warehouse, run.manifest_id, table.qualified_name):
            if h.version.business_date in wanted:
                found[h.version.business_date] = (h.version.version_id, h.version.input_version)
    return found


def _reads(
    run: RunInfo, tables: Sequence[TableSpec], pinned: Mapping[str, Mapping[date, str]]
) -> tuple[dict[str, str], str, list]:
    """The relation names gold SQL reads the tables from, and the WITH clause (with its
    parameters) defining them: the `pinned` versions of a table where given, else for a
    holding run the held versions over the published ones."""
    reads: dict[str, str] = {}
    definitions: list[str] = []
    params: list[Any] = []
    for table in tables:
        if table.qualified_name in pinned:
            name = f"pinned_{table.schema}_{table.name}"
            sql, more = versions_select(run, table, pinned[table.qualified_name].values())
        else:
            held = hold.overlay(run, table)
            if held is None:
                continue
            name = f"held_over_{table.schema}_{table.name}"
            sql, more = held
        reads[table.qualified_name] = name
        definitions.append(f"{name} AS ({sql})")
        params.extend(more)
    if not definitions:
        return {}, "", []
    return reads, "WITH " + ", ".join(definitions) + " ", params


def _candidate(
    run: RunInfo,
    tables: Sequence[TableSpec],
    sql_of: Callable[[dict[str, str]], tuple[str, Sequence[Any]]],
    pinned: Mapping[str, Mapping[date, str]],
) -> tuple[str, list[Any]]:
    """The candidate SELECT over the pinned versions and held ones (see `_reads`)."""
    reads, prefix, params = _reads(run, tables, pinned)
    sql, sql_params = sql_of(reads)
    if not prefix:
        return sql, list(sql_params)
    return f"{prefix}SELECT * FROM ({sql}) AS candidate_rows", [*params, *sql_params]


def _silver_inputs(
    warehouse: Warehouse,
    run: RunInfo,
    sources: Sequence[TableSpec],
    dates: Sequence[date],
) -> _Inputs:
    published: dict[str, dict[date, tuple[str, str]]] = {}
    for source in sources:
        found = _readable(warehouse, run, source, dates)
        missing = [d.isoformat() for d in dates if d not in found]
        if missing:
            raise MissingInput(
                f"{source.qualified_name} is not published for {', '.join(missing)}; "
                "materialize silver for those dates first"
            )
        published[source.qualified_name] = found
    return _Inputs(
        versions={
            name: {d: version for d, (version, _) in found.items()}
            for name, found in published.items()
        },
        input_versions={
            d: combine_versions(*(found[d][1] for found in published.values())) for d in dates
        },
    )


def dry_run_tolerant(build: Callable[..., LayerResult]) -> Callable[..., LayerResult]:
    """In a dry run, gold reads what silver has published; where silver is missing (the dry run
    published none of its own), the gold table is skipped and says so, instead of failing."""

    @functools.wraps(build)
    def wrapper(warehouse: Warehouse, run: RunInfo, *args, **kwargs) -> LayerResult:
        try:
            return build(warehouse, run, *args, **kwargs)
        except MissingInput as error:
            if run.mode != DRY_RUN:
                raise
            return LayerResult(skipped=str(error))

    return wrapper


def _publish_gold(
    warehouse: Warehouse,
    table: TableSpec,
    run: RunInfo,
    code_version: str,
    inputs: _Inputs,
    candidate: tuple[str, Sequence[Any]],
    predecessor: tuple[date, str | None] | None = None,
    rolls_forward: bool = False,
    input_versions: dict[date, str] | None = None,
) -> LayerResult:
    candidate_sql, candidate_params = candidate
    results, published = publish.write_audit_publish(
        warehouse,
        table,
        run,
        code_version,
        input_versions or inputs.input_versions,
        candidate_sql,
        predecessor=predecessor,
        rolls_forward=rolls_forward,
        sources=inputs.versions,
        candidate_params=candidate_params,
    )
    return LayerResult(
        audits={table.qualified_name: results},
        versions={table.qualified_name: published.versions} if published.versions else {},
        held={table.qualified_name: published.held} if published.held else {},
        failed=published.withheld,
        withheld=published.withheld,
    )


@dry_run_tolerant
def build_gold(
    warehouse: Warehouse,
    run: RunInfo,
    table: Table,
    dates: Sequence[date],
    code_version: str,
    first_business_date: date | None = None,
) -> LayerResult:
    """A gold table for the given dates: its declared SQL over the tables it reads.

    A self-dependent table (the balance chain) is computed from the first given date and
    rolled forward to its latest day (`_chain`)."""
    if table.sql is None:
        raise ValueError(f"{table.qualified_name} is not a gold table (it declares no sql)")
    sql = table.sql
    sources = [TABLES_BY_NAME[name] for name in table.reads]
    if table.self_dependent:
        if first_business_date is None:
            raise ValueError(f"{table.qualified_name} rolls forward: give the first business date")
        return _chain(warehouse, run, table, sql, sources, dates, code_version, first_business_date)
    inputs = _silver_inputs(warehouse, run, sources, dates)
    return _publish_gold(
        warehouse,
        table,
        run,
        code_version,
        inputs,
        _candidate(run, sources, lambda reads: sql(dates, reads), inputs.versions),
    )


def _chain(
    warehouse: Warehouse,
    run: RunInfo,
    table: Table,
    sql: GoldSql,
    sources: Sequence[Table],
    dates: Sequence[date],
    code_version: str,
    first_business_date: date,
) -> LayerResult:
    """A self-dependent table from the first given date, rolled forward to the latest day.

    It opens from the day before (which must be published, unless it is the first business
    date) and, since every later day depends on it, also recomputes every published day after
    the given range, in the same transaction. Publishing refuses (and nothing changes) if the
    opening day or the latest day moved while this was computed.
    """
    start = min(dates)
    previous_day = start - timedelta(days=1)
    predecessor: tuple[date, str | None] | None = None
    if start > first_business_date:
        previous = {
            d: version
            for d, (version, _) in _readable(warehouse, run, table, [previous_day]).items()
        }
        if previous_day not in previous:
            raise MissingInput(
                f"{table.qualified_name} is not published for {previous_day}, the opening "
                f"balances of {start}; materialize from {previous_day} (or earlier) first"
            )
        predecessor = (previous_day, previous[previous_day])
    latest = latest_published_dates(warehouse).get(table.qualified_name)
    last = max(max(dates), latest) if latest else max(dates)
    chain_dates = [start + timedelta(days=i) for i in range((last - start).days + 1)]
    silver = _silver_inputs(warehouse, run, sources, chain_dates)
    chain = predecessor[1] if predecessor else "start"
    pinned = dict(silver.versions)
    opening = predecessor[1] if predecessor else None
    if opening is not None:
        pinned[table.qualified_name] = {previous_day: opening}
    return _publish_gold(
        warehouse,
        table,
        run,
        code_version,
        silver,
        _candidate(run, [*sources, table], lambda reads: sql(chain_dates, reads), pinned),
        predecessor=predecessor,
        rolls_forward=True,
        input_versions={
            d: combine_versions(silver.input_versions[d], chain or "") for d in chain_dates
        },
    )
