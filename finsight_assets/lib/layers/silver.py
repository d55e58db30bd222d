"""Silver end to end, one source at a time: check the raw files, compute every raw row's outcome
(the silver SQL, on DuckDB inside the embedded warehouse or on Spark), then stage, audit and
publish every table the source computes, together.

Knows nothing of Dagster: the assets in `defs/silver` call `build_silver` with a declared source
(`lib/tables`), a silver engine (DuckDB, local Spark or EMR Serverless), a lake, a warehouse and
the run's identity.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal

from finsight_assets.lib.contract.tables import DATE, TEXT, Column, TableSpec
from finsight_assets.lib.engines.lake import STAGING_INPUTS_SUFFIX, Lake
from finsight_assets.lib.engines.silver_engine import InWarehouseSilverEngine, SilverEngine
from finsight_assets.lib.engines.warehouse import Connect, string_literal
from finsight_assets.lib.layers.silver_inputs import (
    changed_inputs,
    combined_input_version,
    inspect_days,
    usd_rates_of,
)
from finsight_assets.lib.layers.silver_problems import problems
from finsight_assets.lib.layers.silver_run import run_engine, unaliased, visible_to_spark
from finsight_assets.lib.tables.declaration import RawSource, Table
from finsight_assets.lib.tables.registry import SOURCES
from finsight_assets.lib.wap import publish
from finsight_assets.lib.wap.audits.reconcile import outcome_counts
from finsight_assets.lib.wap.layout import staging_table
from finsight_assets.lib.wap.model import AuditInputs, LayerResult, RunInfo, StagedPartitions

logger = logging.getLogger(__name__)

# Where each row came from, and what makes its day uncomputable (`silver_sql`).
_PROVENANCE = (Column("source_file", TEXT), Column("problem", TEXT))


def outcome_columns(tables: Sequence[TableSpec]) -> tuple[Column, ...]:
    """The columns of a source's outcome rows: the business date, the outcome, every column of
    the tables computed from it (nullable: each outcome fills its own), and the provenance."""
    columns: dict[str, Column] = {}
    for table in tables:
        for column in table.columns:
            if column.name != "business_date":
                columns.setdefault(column.name, Column(column.name, column.sql_type))
    return (Column("business_date", DATE), Column("outcome", TEXT), *columns.values(), *_PROVENANCE)


def build_silver(
    source: RawSource,
    engine: SilverEngine,
    lake: Lake,
    connect: Connect,
    run: RunInfo,
    dates: Sequence[date],
    code_version: str,
) -> LayerResult:
    """Every silver table computed from `source`, for the given dates, published together.

    A date whose raw files break the contract is reported in `failed` and publishes nothing;
    the other dates go on.
    """
    result = LayerResult()
    raw = {t: inspect_days(lake, t, dates, result.failed) for t in source.raw_tables}
    rates = (
        usd_rates_of(lake, raw[source.rates_table], source.rates_table, result.failed)
        if source.rates_table
        else {}
    )
    good = [d for d in dates if d not in result.failed]
    if not good:
        return result
    rows = raw[source.raw_table]
    files = {d: [f.uri for f in rows[d].files] for d in good if rows[d].files}
    _stage_load_audit_publish(
        connect,
        lake,
        run,
        code_version,
        engine=engine,
        source=source,
        tables=SOURCES[source],
        files=files,
        usd_rates={d: rates[d] for d in files if d in rates},
        input_versions={
            d: combined_input_version([raw[t][d].version for t in source.raw_tables]) for d in good
        },
        raw_rows={d: rows[d].rows for d in good},
        result=result,
    )
    return result


def _stale(
    lake: Lake, source: RawSource, computed_from: Mapping[date, str], dates: Sequence[date]
) -> dict[date, str]:
    """Of `dates`, those whose raw input is no longer the one they were computed from, each
    with the error its day reports."""
    stale = changed_inputs(lake, source.raw_tables, {d: computed_from[d] for d in dates})
    return {
        d: f"raw/{' and raw/'.join(source.raw_tables)} changed while {d} was computed (input "
        f"{computed_from[d]}, now {now}): not published, so the day never goes live on an "
        "older delivery; run it again"
        for d, now in stale.items()
    }


def _outcomes_staged(
    engine: SilverEngine,
    lake: Lake,
    source: RawSource,
    files: Mapping[date, Sequence[str]],
    usd_rates: Mapping[date, Mapping[str, Decimal]],
    uri: str,
    result: LayerResult,
    aliases: Mapping[str, str],
) -> list[str]:
    """Run the engine's jobs into staged Parquet under `uri`; the days that failed go to
    `result.failed`, naming the raw files rather than their `aliases`. Returns the staged files."""
    failed = run_engine(engine, lake, source.transform, files, usd_rates, uri)
    result.failed.update({d: unaliased(why, aliases) for d, why in failed.items()})
    return lake.parquet_files(uri)


def _select(table: TableSpec, source: str, outcome: str) -> str:
    columns = ", ".join(table.business_columns)
    return f"SELECT {columns} FROM {source} AS outcomes WHERE outcome = {string_literal(outcome)}"


def _stage_load_audit_publish(
    connect: Connect,
    lake: Lake,
    run: RunInfo,
    code_version: str,
    *,
    engine: SilverEngine,
    source: RawSource,
    tables: Sequence[Table],
    files: Mapping[date, Sequence[str]],
    usd_rates: Mapping[date, Mapping[str, Decimal]],
    input_versions: Mapping[date, str],
    raw_rows: Mapping[date, int],
    result: LayerResult,
) -> None:
    """The engine computes every raw row's outcome: inside the warehouse where it can (DuckDB in
    the embedded one), else into staged Parquet that the warehouse loads once (Spark's before
    the warehouse connection is opened, so none is held while it runs). Then the warehouse
    stages each table's rows, audits them, and publishes all tables together."""
    result.raw_rows = sum(raw_rows.values())
    aliases: dict[str, str] = {}
    for swept in lake.sweep_staging():
        logger.info("removed %s: staging of a run that was killed", swept)
    uri = lake.staging_uri(f"silver_{source.transform}", run.run_id)
    in_warehouse = engine if isinstance(engine, InWarehouseSilverEngine) else None
    try:
        staged_files: list[str] = []
        if files and in_warehouse is None:
            files, aliases = visible_to_spark(lake, files, f"{uri}{STAGING_INPUTS_SUFFIX}")
            staged_files = _outcomes_staged(
                engine, lake, source, files, usd_rates, uri, result, aliases
            )
            if all(d in result.failed for d in input_versions):
                return
        with connect() as warehouse:
            outcome_table = staging_table(warehouse, f"{source.transform}_outcomes", run.run_id)
            staged_all: list[StagedPartitions] = []
            outcomes_dropped = False
            try:
                columns = outcome_columns(tables)
                failed_inside = (
                    in_warehouse.compute_in(
                        warehouse, lake, source.transform, files, usd_rates, outcome_table, columns
                    )
                    if files and in_warehouse is not None
                    else None
                )
                if failed_inside is not None:
                    result.failed.update(failed_inside)
                    outcome_rows = outcome_table
                else:
                    if files and in_warehouse is not None:
                        staged_files = _outcomes_staged(
                            engine, lake, source, files, usd_rates, uri, result, aliases
                        )
                    outcome_rows = warehouse.staged_relation(outcome_table, staged_files, columns)
                input_versions = {d: v for d, v in input_versions.items() if d not in result.failed}
                raw_rows = {d: n for d, n in raw_rows.items() if d not in result.failed}
                if not input_versions:
                    return
                # One count of the outcomes, shared by the source's tables' count identities.
                counts = outcome_counts(warehouse, outcome_rows)
                for table in tables:
                    staged_all.append(
                        publish.stage(
                            warehouse,
                            table,
                            run,
                            code_version,
                            input_versions,
                            _select(table, outcome_rows, str(table.outcome)),
                        )
                    )
                uncomputable = {
                    d: unaliased(f"raw/{source.transform}: {problem}", aliases)
                    for d, problem in problems(warehouse, outcome_rows, source.row_key).items()
                }
                # Counted, staged and searched for problems, the outcome rows are dropped before
                # the audits and the publish, so a long backfill does not hold every raw row a
                # second time through them (DuckDB spills them, and keeps track of the spill).
                warehouse.execute(f"DROP TABLE IF EXISTS {outcome_table}")
                outcomes_dropped = True
                for table, staged in zip(tables, staged_all, strict=True):
                    inputs = AuditInputs(
                        raw_rows,
                        staged_outcome=str(table.outcome),
                        outcome_labels=source.outcomes,
                        outcome_counts=counts,
                    )
                    result.audits[table.qualified_name] = publish.audit(warehouse, staged, inputs)
                for d, why in _stale(lake, source, input_versions, sorted(input_versions)).items():
                    uncomputable.setdefault(d, why)
                for d, why in uncomputable.items():
                    result.failed[d] = why
                    for staged in staged_all:
                        publish.withdraw(warehouse, staged, d)

                def stale_under_lock(dates: Sequence[date]) -> dict[date, str]:
                    # Again under the publish locks: a delivery landing after the check above
                    # must not go live on the older input either (docs/contract.md).
                    stale = _stale(lake, source, input_versions, dates)
                    result.failed.update(stale)
                    return stale

                if staged_all and staged_all[0].dates:
                    published = publish.publish_audited(
                        warehouse, result.audits, *staged_all, recheck=stale_under_lock
                    )
                    result.withheld.update(published.withheld)
                    result.failed.update(published.withheld)
                    for version in published.versions:
                        result.versions.setdefault(version.table_name, []).append(version)
                    for version in published.held:
                        result.held.setdefault(version.table_name, []).append(version)
            finally:
                for staged in staged_all:
                    publish.drop_staged(warehouse, staged)
                if not outcomes_dropped:
                    warehouse.execute(f"DROP TABLE IF EXISTS {outcome_table}")
    finally:
        lake.remove_staging(uri)
        lake.remove_staging(f"{uri}{STAGING_INPUTS_SUFFIX}")
