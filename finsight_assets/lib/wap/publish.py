"""Write, audit, publish: the one protocol every silver and gold partition goes through.

stage    candidate rows land in a staging table no reader looks at, lineage columns and each
         row's hash attached (computed once: the versions tables keep it with the row),
         and one aggregate pass profiles them per date (`profile.py`: counts, checksums,
         totals, contract-schema breaches) for the audits, publish and hold to reuse;
audit    the table's declared checks (`checks.py`) run against the staged rows, and their
         verdicts are recorded per partition; a failing blocking check stops here;
publish  one transaction writes the staged rows once into the table's versions table, verifies
         them, records the new versions and swaps the partitions' current-version pointers
         (compare and swap); the replaced versions' rows stay where they are, for rollback;
         readers (the declared table is a view of the current versions) see the old
         partitions or the new ones, never a mix.

Rollback is in `rollback.py`; the audit schema's tables in `audit_tables.py`, their records
in `versions.py`.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date
from typing import Any

from finsight_assets.lib.contract.run_tags import DRY_RUN
from finsight_assets.lib.contract.tables import LINEAGE_COLUMN_NAMES, TableSpec
from finsight_assets.lib.engines.warehouse import (
    Warehouse,
    bind,
    bound_rows,
)
from finsight_assets.lib.tables.registry import SELF_DEPENDENT
from finsight_assets.lib.wap.check_records import record_checks
from finsight_assets.lib.wap.checks import Check, checks_of, run_check
from finsight_assets.lib.wap.guards import check_chain, check_sources, locked_for_publish
from finsight_assets.lib.wap.hold import hold
from finsight_assets.lib.wap.layout import staging_table
from finsight_assets.lib.wap.model import (
    AuditFailed,
    AuditInputs,
    AuditResult,
    CheckRecord,
    PartitionVersion,
    Published,
    RunInfo,
    StagedPartitions,
)
from finsight_assets.lib.wap.profile import ROW_HASH, row_hash, staged_profile
from finsight_assets.lib.wap.replace import (
    partition_stats,
    replace_partitions,
    staged_check_sums,
)
from finsight_assets.lib.wap.versions import current_versions

logger = logging.getLogger(__name__)

# Asked under the publish locks, just before the swap: of the given dates, those that must not
# publish now, each with why (silver: a raw delivery landed while the day was computed).
Recheck = Callable[[Sequence[date]], Mapping[date, str]]


def _lineage_values(
    run: RunInfo,
    code_version: str,
    input_versions: Mapping[date, str],
    version_ids: Mapping[date, str],
) -> tuple[str, list[Any]]:
    rows, params = bound_rows(
        [d, run.run_id, code_version, run.mode, input_versions[d], version_ids[d]]
        for d in sorted(input_versions)
    )
    names = ", ".join(("business_date",) + LINEAGE_COLUMN_NAMES)
    return f"(VALUES {rows}) AS lineage({names})", params


def stage(
    warehouse: Warehouse,
    table: TableSpec,
    run: RunInfo,
    code_version: str,
    input_versions: Mapping[date, str],
    candidate_sql: str,
    predecessor: tuple[date, str | None] | None = None,
    rolls_forward: bool = False,
    sources: Mapping[str, Mapping[date, str]] | None = None,
    candidate_params: Sequence[Any] = (),
) -> StagedPartitions:
    """Stage the rows `candidate_sql` selects (business columns) for the given partitions;
    `candidate_params` fill its `?` placeholders.

    Rows whose business_date is not among `input_versions` are not staged.
    """
    if not input_versions:
        raise ValueError(f"{table.qualified_name}: nothing to stage (no partitions)")
    version_ids = {d: uuid.uuid4().hex[:16] for d in input_versions}
    staged_name = staging_table(warehouse, f"{table.schema}__{table.name}", run.run_id)
    business = ", ".join(f"candidate.{name}" for name in table.business_columns)
    lineage = ", ".join(f"lineage.{name}" for name in LINEAGE_COLUMN_NAMES)
    hashed = f"{row_hash(warehouse, table, 'candidate')} AS {ROW_HASH}"
    values, params = _lineage_values(run, code_version, input_versions, version_ids)
    select = (
        f"SELECT {business}, {lineage}, {hashed} FROM ({candidate_sql}) AS candidate "
        f"JOIN {values} ON candidate.business_date = lineage.business_date"
    )
    warehouse.execute(
        warehouse.create_staging_table_sql(staged_name, select), [*candidate_params, *params]
    )
    staged = StagedPartitions(
        table=table,
        staging_table=staged_name,
        input_versions=dict(input_versions),
        version_ids=version_ids,
        code_version=code_version,
        run=run,
        predecessor=predecessor,
        rolls_forward=rolls_forward,
        sources=dict(sources or {}),
    )
    staged_profile(warehouse, staged)
    return staged


def audit(
    warehouse: Warehouse,
    staged: StagedPartitions,
    inputs: AuditInputs | None = None,
    checks: Sequence[Check] | None = None,
) -> list[AuditResult]:
    """Run the checks (by default the table's declared ones) against the staged rows; record
    each verdict per date."""
    inputs = inputs or AuditInputs()
    if checks is None:
        checks = checks_of(staged.table.qualified_name)
    results = [run_check(check, warehouse, staged, inputs) for check in checks]
    record_checks(
        warehouse,
        [
            CheckRecord(
                table_name=staged.table.qualified_name,
                business_date=d,
                run_id=staged.run.run_id,
                check_name=result.name,
                passed=result.passed_on(d),
                blocking=result.blocking,
                detail=result.summary,
                checked_at=staged.run.clock,
                metadata=json.dumps(result.figures_on(d), default=str, sort_keys=True),
            )
            for result in results
            for d in staged.dates
        ],
    )
    return results


def publish(
    warehouse: Warehouse, *staged_tables: StagedPartitions, recheck: Recheck | None = None
) -> list[PartitionVersion]:
    """Swap the staged partitions of one or more tables in, in one transaction; record versions.

    Under the locks, `recheck` names the dates that must not publish after all: they are
    withdrawn from every table, the others publish."""
    stats = {id(staged): partition_stats(warehouse, staged) for staged in staged_tables}
    versions: list[PartitionVersion] = []
    names = [staged.table.qualified_name for staged in staged_tables]
    sources = [source for staged in staged_tables for source in staged.sources]
    run = staged_tables[0].run
    with locked_for_publish(warehouse, names, sources, run):
        if recheck is not None:
            dates = sorted({d for staged in staged_tables for d in staged.dates})
            for d in recheck(dates):
                for staged in staged_tables:
                    withdraw(warehouse, staged, d)
        for staged in staged_tables:
            if staged.dates:
                versions.extend(_swap(warehouse, staged, stats[id(staged)]))
    for staged in staged_tables:
        logger.info(
            "published %s for %d partition(s)", staged.table.qualified_name, len(staged.dates)
        )
    return versions


def _swap(
    warehouse: Warehouse, staged: StagedPartitions, stats: Mapping[date, tuple[int, str]]
) -> list[PartitionVersion]:
    """Inside the caller's transaction: write the staged rows as new versions, swap, record."""
    name = staged.table.qualified_name
    check_chain(warehouse, staged)
    check_sources(warehouse, staged)
    replaced = current_versions(warehouse, name, staged.dates)
    versions = [
        PartitionVersion(
            version_id=staged.version_ids[d],
            table_name=name,
            business_date=d,
            run_id=staged.run.run_id,
            code_version=staged.code_version,
            input_version=staged.input_versions[d],
            mode=staged.run.mode,
            row_count=stats[d][0],
            checksum=stats[d][1],
            published_at=staged.run.clock,
            replaced_version_id=replaced.get(d),
            predecessor_version_id=staged.predecessor[1] if staged.predecessor else None,
            manifest_id=staged.run.manifest_id,
        )
        for d in staged.dates
    ]
    replace_partitions(
        warehouse,
        staged.table,
        versions,
        (f"SELECT {{columns}} FROM {staged.staging_table}", []),
        check_sums=staged_check_sums(warehouse, staged),
    )
    return versions


def withdraw(warehouse: Warehouse, staged: StagedPartitions, business_date: date) -> None:
    """Take one partition out of what is staged: it will not be published with the others."""
    day, params = bind(business_date)
    warehouse.execute(f"DELETE FROM {staged.staging_table} WHERE business_date = {day}", params)
    staged.input_versions.pop(business_date, None)
    staged.version_ids.pop(business_date, None)
    if staged.profile is not None:
        staged.profile.pop(business_date, None)


def drop_staged(warehouse: Warehouse, staged: StagedPartitions) -> None:
    warehouse.execute(f"DROP TABLE IF EXISTS {staged.staging_table}")


def write_audit_publish(
    warehouse: Warehouse,
    *candidate: Any,
    checks: Sequence[Check] | None = None,
    **staging: Any,
) -> tuple[list[AuditResult], Published]:
    """Stage (`candidate` and `staging` are `stage`'s arguments), audit with `checks` (by
    default the table's declared ones) and publish, holding back the dates a blocking audit
    failed on (see `publish_audited`)."""
    staged = stage(warehouse, *candidate, **staging)
    try:
        results = audit(warehouse, staged, checks=checks)
        return results, publish_audited(warehouse, {staged.table.qualified_name: results}, staged)
    finally:
        drop_staged(warehouse, staged)


def blocked_dates(
    audits: Mapping[str, Sequence[AuditResult]], dates: Iterable[date]
) -> dict[date, str]:
    """The dates a blocking audit failed on, each with which ones (table, check, summary)."""
    blocked: dict[date, list[str]] = {}
    for table, results in audits.items():
        for result in results:
            if result.blocking:
                for d in dates:
                    if not result.passed_on(d):
                        blocked.setdefault(d, []).append(
                            f"{table} {result.name} ({result.summary})"
                        )
    return {d: "blocking audit failed: " + "; ".join(why) for d, why in sorted(blocked.items())}


def publish_audited(
    warehouse: Warehouse,
    audits: Mapping[str, Sequence[AuditResult]],
    *staged_tables: StagedPartitions,
    recheck: Recheck | None = None,
) -> Published:
    """Publish the audited tables together, the dates a blocking audit failed on held back.

    Nothing is published (AuditFailed) when every date failed, or when a failing table is a
    chain (each day opens at the previous close: publishing days around a failed one would
    break it). A dry run publishes nothing; a run whose backfill needs approval holds what
    would be published (`hold.py`). `recheck` is `publish`'s.
    """
    dates = sorted({d for staged in staged_tables for d in staged.dates})
    blocked = blocked_dates(audits, dates)
    if blocked:
        chain = any(staged.table.qualified_name in SELF_DEPENDENT for staged in staged_tables)
        if chain or set(blocked) >= set(dates):
            raise AuditFailed(audits)
        for d in blocked:
            for staged in staged_tables:
                withdraw(warehouse, staged, d)
    if any(staged.run.mode == DRY_RUN for staged in staged_tables):
        logger.info("dry run: %s audited, not published", ", ".join(audits))
        return Published([], blocked)
    if staged_tables[0].run.hold:
        stats = {id(staged): partition_stats(warehouse, staged) for staged in staged_tables}
        return Published([], blocked, held=hold(warehouse, stats, *staged_tables))
    return Published(publish(warehouse, *staged_tables, recheck=recheck), blocked)
