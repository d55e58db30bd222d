"""Audits any table's staged partitions pass: a unique key, the contract schema, the diff.

Each is a function `(warehouse, staged, inputs) -> AuditOutcome`; which table runs which, and
whether it blocks, is declared once in its table's declaration (`lib/tables/`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal

from finsight_assets.lib.contract.tables import MONEY_SQL
from finsight_assets.lib.engines.warehouse import Warehouse, bound
from finsight_assets.lib.wap.model import AuditInputs, AuditOutcome, StagedPartitions

VALIDATION_BATCH_ROWS = 200_000
MAX_REPORTED_FAILURES = 20


def _per_date_failures(failures: Mapping[date, int], dates: Sequence[date]) -> dict[date, bool]:
    return {d: failures.get(d, 0) == 0 for d in dates}


def unique_key(warehouse: Warehouse, staged: StagedPartitions, inputs: AuditInputs) -> AuditOutcome:
    """No two staged rows share the key (rejected rows: no two share a non-null event_id)."""
    key = staged.table.key or ("business_date", "event_id")
    not_null = " AND ".join(f"{column} IS NOT NULL" for column in key)
    rows = warehouse.fetchall(
        f"SELECT business_date, COUNT(*) FROM (SELECT {', '.join(key)} FROM {staged.staging_table} "
        f"WHERE {not_null} GROUP BY {', '.join(key)} HAVING COUNT(*) > 1) AS dup "
        "GROUP BY business_date"
    )
    duplicates = {row[0]: int(row[1]) for row in rows}
    total = sum(duplicates.values())
    return AuditOutcome(
        passed=total == 0,
        summary=f"{total} duplicated key(s) on ({', '.join(key)})",
        metadata={"duplicated_keys": {d.isoformat(): n for d, n in duplicates.items()}},
        by_date=_per_date_failures(duplicates, staged.dates),
    )


def contract_schema(
    warehouse: Warehouse, staged: StagedPartitions, inputs: AuditInputs
) -> AuditOutcome:
    """The staged rows satisfy the pandera contract schema, validated batch by batch."""
    # pandas and pandera take about 3 s to import: the first audit loads them, not every process
    # that loads the code location (webserver, daemon, sensors, the CLI, a run worker's start).
    import pandas as pd
    import pandera.errors

    from finsight_assets.lib.tables.pandera_schemas import contract_schema as pandera_schema

    schema = pandera_schema(staged.table)
    columns = ", ".join(staged.table.business_columns)
    failures_by_date: dict[date, int] = {}
    examples: list[str] = []
    for batch in warehouse.fetch_arrow_batches(
        f"SELECT {columns} FROM {staged.staging_table}", VALIDATION_BATCH_ROWS
    ):
        frame = batch.to_pandas(types_mapper=pd.ArrowDtype)
        try:
            schema.validate(frame, lazy=True)
        except pandera.errors.SchemaErrors as errors:
            cases = errors.failure_cases
            for index in cases["index"].dropna().unique():
                d = frame.loc[int(index), "business_date"]
                failures_by_date[d] = failures_by_date.get(d, 0) + 1
            if cases["index"].isna().any():
                for d in frame["business_date"].unique():
                    failures_by_date[d] = failures_by_date.get(d, 0) + 1
            examples.extend(
                f"{row.column}: {row.check} failed on {row.failure_case!r}"
                for row in cases.head(MAX_REPORTED_FAILURES - len(examples)).itertuples()
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


def _money(value: Decimal | None) -> str:
    return str(value if value is not None else Decimal("0"))


def diff_against_published(
    warehouse: Warehouse, staged: StagedPartitions, inputs: AuditInputs
) -> AuditOutcome:
    """Rows added, removed and changed by key against the published partition; change in totals.

    Evidence, not a gate: a backfill is expected to change rows.
    """
    table = staged.table
    dates, date_params = bound(staged.dates)
    business = table.business_columns
    row_hash = warehouse.compare_hash_sql(business)
    published = f"SELECT * FROM {table.qualified_name} WHERE business_date IN ({dates})"
    if table.key is not None:
        join = " AND ".join(f"s.{column} = p.{column}" for column in table.key)
        first = table.key[-1]
        counts_sql = (
            "SELECT COALESCE(s.business_date, p.business_date) AS business_date, "
            f"SUM(CASE WHEN p.{first} IS NULL THEN 1 ELSE 0 END), "
            f"SUM(CASE WHEN s.{first} IS NULL THEN 1 ELSE 0 END), "
            f"SUM(CASE WHEN s.{first} IS NOT NULL AND p.{first} IS NOT NULL "
            "AND s.row_hash <> p.row_hash THEN 1 ELSE 0 END) "
            f"FROM (SELECT *, {row_hash} AS row_hash FROM {staged.staging_table}) AS s "
            f"FULL OUTER JOIN (SELECT *, {row_hash} AS row_hash FROM ({published}) AS pub) AS p "
            f"ON {join} GROUP BY 1"
        )
    else:
        counts_sql = (
            "SELECT business_date, SUM(CASE WHEN n > 0 THEN n ELSE 0 END), "
            "SUM(CASE WHEN n < 0 THEN -n ELSE 0 END), 0 FROM ("
            "SELECT business_date, row_hash, SUM(side) AS n FROM ("
            f"SELECT business_date, {row_hash} AS row_hash, 1 AS side FROM {staged.staging_table} "
            f"UNION ALL SELECT business_date, {row_hash} AS row_hash, -1 AS side "
            f"FROM ({published}) AS pub) AS sides GROUP BY business_date, row_hash) AS net "
            "GROUP BY business_date"
        )
    # `published` holds the only placeholders, once in each statement that reads it.
    counts = {
        row[0]: (int(row[1]), int(row[2]), int(row[3]))
        for row in warehouse.fetchall(counts_sql, date_params)
    }
    totals: dict[date, dict[str, str]] = {}
    sums_before: dict[str, dict[str, str]] = {}
    sums_after: dict[str, dict[str, str]] = {}
    if table.money_columns:
        sums = ", ".join(f"SUM({column})" for column in table.money_columns)
        before = {
            r[0]: r[1:]
            for r in warehouse.fetchall(
                f"SELECT business_date, {sums} FROM ({published}) AS pub GROUP BY 1",
                date_params,
            )
        }
        after = {
            r[0]: r[1:]
            for r in warehouse.fetchall(
                f"SELECT business_date, {sums} FROM {staged.staging_table} GROUP BY 1"
            )
        }
        for d in staged.dates:
            old = before.get(d, (None,) * len(table.money_columns))
            new = after.get(d, (None,) * len(table.money_columns))
            totals[d.isoformat()] = {
                column: _money((n or Decimal(0)) - (o or Decimal(0)))
                for column, o, n in zip(table.money_columns, old, new, strict=True)
            }
            sums_before[d.isoformat()] = {
                column: _money(o or Decimal(0))
                for column, o in zip(table.money_columns, old, strict=True)
            }
            sums_after[d.isoformat()] = {
                column: _money(n or Decimal(0))
                for column, n in zip(table.money_columns, new, strict=True)
            }
    per_date = {
        d.isoformat(): {
            "added": counts.get(d, (0, 0, 0))[0],
            "removed": counts.get(d, (0, 0, 0))[1],
            "changed": counts.get(d, (0, 0, 0))[2],
            "total_change": totals.get(d.isoformat(), {}),
            "total_before": sums_before.get(d.isoformat(), {}),
            "total_after": sums_after.get(d.isoformat(), {}),
        }
        for d in staged.dates
    }
    added = sum(v["added"] for v in per_date.values())
    removed = sum(v["removed"] for v in per_date.values())
    changed = sum(v["changed"] for v in per_date.values())
    return AuditOutcome(
        passed=True,
        summary=f"{added} added, {removed} removed, {changed} changed",
        metadata={"added": added, "removed": removed, "changed": changed, "by_date": per_date},
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
