"""Audits any table's staged partitions pass: a unique key, the contract schema, money that fits
(the diff against the published partitions is `diff.py`).

Each is a function `(warehouse, staged, inputs) -> AuditOutcome`; which table runs which, and
whether it blocks, is declared once in its table's declaration (`lib/tables/`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from finsight_assets.lib.contract.tables import MONEY_SQL
from finsight_assets.lib.engines.warehouse import Warehouse, bound
from finsight_assets.lib.tables.contract_sql import type_mismatches, violations
from finsight_assets.lib.wap.model import (
    AuditInputs,
    AuditOutcome,
    DayProfile,
    StagedPartitions,
)
from finsight_assets.lib.wap.profile import staged_profile

MAX_REPORTED_FAILURES = 20
# The unique-key audit groups at most this many staged rows per statement (whole days; a larger
# day alone), so its hash table is bounded by a few days, not by the backfill's length: over a
# 45-day run's 45M rows in one statement it was that run's peak memory (`bench_memory`).
KEY_ROWS_PER_STATEMENT = 2_000_000


def _per_date_failures(failures: Mapping[date, int], dates: Sequence[date]) -> dict[date, bool]:
    return {d: failures.get(d, 0) == 0 for d in dates}


def unique_key(warehouse: Warehouse, staged: StagedPartitions, inputs: AuditInputs) -> AuditOutcome:
    """No two staged rows share the key (rejected rows: no two share a non-null event_id)."""
    key = staged.table.key or ("business_date", "event_id")
    not_null = " AND ".join(f"{column} IS NOT NULL" for column in key)
    duplicates: dict[date, int] = {}
    for days in _day_chunks(staged_profile(warehouse, staged), KEY_ROWS_PER_STATEMENT):
        listed, params = bound(days)
        duplicates.update(
            (d, int(n))
            for d, n in warehouse.fetchall(
                f"SELECT business_date, COUNT(*) FROM (SELECT {', '.join(key)} "
                f"FROM {staged.staging_table} WHERE business_date IN ({listed}) AND {not_null} "
                f"GROUP BY {', '.join(key)} HAVING COUNT(*) > 1) AS dup GROUP BY business_date",
                params,
            )
        )
    total = sum(duplicates.values())
    return AuditOutcome(
        passed=total == 0,
        summary=f"{total} duplicated key(s) on ({', '.join(key)})",
        metadata={"duplicated_keys": {d.isoformat(): n for d, n in duplicates.items()}},
        by_date=_per_date_failures(duplicates, staged.dates),
    )


def _day_chunks(profile: Mapping[date, DayProfile], max_rows: int) -> list[list[date]]:
    """The days with staged rows in date order, in groups of up to `max_rows` rows (or one day)."""
    chunks: list[list[date]] = []
    in_chunk = 0
    for d in sorted(d for d, day in profile.items() if day.rows):
        if not chunks or in_chunk + profile[d].rows > max_rows:
            chunks.append([])
            in_chunk = 0
        chunks[-1].append(d)
        in_chunk += profile[d].rows
    return chunks


def _failure_case(value: Any) -> str:
    """A failing value as pandera's failure cases show it (a missing one as pandas' NA)."""
    return "<NA>" if value is None else repr(value)


def contract_schema(
    warehouse: Warehouse, staged: StagedPartitions, inputs: AuditInputs
) -> AuditOutcome:
    """The staged rows satisfy the contract schema (`contract_sql.py`), checked where they are:
    the day's counts come from the staged rows' one aggregate pass, and only the first few
    failing values are fetched, to name them."""
    profile = staged_profile(warehouse, staged)
    mismatched = type_mismatches(warehouse, staged.table, staged.staging_table)
    # A column of the wrong type breaks the schema once on each day with rows (pandera reports
    # it once per validated frame, not per row).
    failures_by_date = {
        d: day.violating_rows + (1 if mismatched and day.rows else 0) for d, day in profile.items()
    }
    examples = [f"{m.column}: {m.check} failed on {m.found!r}" for m in mismatched]
    for index, check in enumerate(violations(staged.table, warehouse.dialect)):
        wanted = MAX_REPORTED_FAILURES - len(examples)
        if wanted > 0 and any(day.failures[index] for day in profile.values()):
            found = warehouse.fetchall(
                f"SELECT {check.column} FROM {staged.staging_table} WHERE {check.sql} "
                f"ORDER BY business_date LIMIT {wanted}",
                check.params,
            )
            examples.extend(
                f"{check.column}: {check.check} failed on {_failure_case(value)}"
                for (value,) in found
            )
    total = sum(failures_by_date.values())
    return AuditOutcome(
        passed=total == 0,
        summary=f"{total} row(s) violate the contract schema",
        metadata={
            "violating_rows": {d.isoformat(): failures_by_date.get(d, 0) for d in staged.dates},
            "failures": examples[:MAX_REPORTED_FAILURES],
        },
        by_date=_per_date_failures(failures_by_date, staged.dates),
    )


def money_fits(warehouse: Warehouse, staged: StagedPartitions, inputs: AuditInputs) -> AuditOutcome:
    """Every staged amount fits MONEY: gold SQL gives NULL for one that does not (`tables/sql.py`),
    and this names the day, the row's key and the column."""
    table = staged.table
    money = [c.name for c in table.columns if c.sql_type == MONEY_SQL]
    beyond = " OR ".join(f"{name} IS NULL" for name in money)
    keys = [name for name in table.key or () if name != "business_date"]
    counts = dict(
        warehouse.fetchall(
            f"SELECT business_date, COUNT(*) FROM {staged.staging_table} WHERE {beyond} GROUP BY 1"
        )
    )
    examples = []
    if counts:
        flags = ", ".join(f"CASE WHEN {name} IS NULL THEN 1 ELSE 0 END" for name in money)
        for row in warehouse.fetchall(
            f"SELECT business_date, {', '.join([*keys, flags])} FROM {staged.staging_table} "
            f"WHERE {beyond} ORDER BY business_date, {', '.join(keys or ['business_date'])} "
            f"LIMIT {MAX_REPORTED_FAILURES}"
        ):
            key_values = zip(keys, row[1 : 1 + len(keys)], strict=True)
            key = ", ".join(f"{name} {value}" for name, value in key_values)
            columns = [name for name, flag in zip(money, row[1 + len(keys) :], strict=True) if flag]
            examples.append(f"{row[0]} {key}: {', '.join(columns)}")
    total = sum(int(n) for n in counts.values())
    return AuditOutcome(
        passed=total == 0,
        summary="every amount fits decimal(18,2)"
        if not total
        else f"{total} row(s) with amounts beyond decimal(18,2): {'; '.join(examples[:5])}",
        metadata={"beyond_range": examples},
        by_date=_per_date_failures(counts, staged.dates),
    )
