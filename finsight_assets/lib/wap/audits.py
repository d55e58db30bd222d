"""Audits of staged partitions: the checks the publish protocol runs before anything is published.

Each audit is a function `(warehouse, staged) -> AuditResult`; factories take what an audit
needs beyond the staged rows (raw counts, the silver tables it must reconcile with).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from decimal import Decimal

from finsight_assets.lib.contract.tables import TableSpec
from finsight_assets.lib.engines.warehouse import Warehouse, date_list
from finsight_assets.lib.wap.publish import Audit, AuditResult, StagedPartitions

VALIDATION_BATCH_ROWS = 200_000
MAX_REPORTED_FAILURES = 20


def _per_date_failures(failures: Mapping[date, int], dates: Sequence[date]) -> dict[date, bool]:
    return {d: failures.get(d, 0) == 0 for d in dates}


def unique_key(warehouse: Warehouse, staged: StagedPartitions) -> AuditResult:
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
    return AuditResult(
        name="unique_key",
        passed=total == 0,
        summary=f"{total} duplicated key(s) on ({', '.join(key)})",
        metadata={"duplicated_keys": {d.isoformat(): n for d, n in duplicates.items()}},
        by_date=_per_date_failures(duplicates, staged.dates),
    )


def contract_schema_audit(warehouse: Warehouse, staged: StagedPartitions) -> AuditResult:
    """The staged rows satisfy the pandera contract schema, validated batch by batch."""
    # pandas and pandera take about 3 s to import: the first audit loads them, not every process
    # that loads the code location (webserver, daemon, sensors, the CLI, a run worker's start).
    import pandas as pd
    import pandera.errors

    from finsight_assets.lib.contract.schemas import contract_schema

    schema = contract_schema(staged.table)
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
    return AuditResult(
        name="contract_schema",
        passed=total == 0,
        summary=f"{total} row(s) violate the contract schema",
        metadata={"failures": examples[:MAX_REPORTED_FAILURES]},
        by_date=_per_date_failures(failures_by_date, staged.dates),
    )


def _money(value: Decimal | None) -> str:
    return str(value if value is not None else Decimal("0"))


def diff_against_published(warehouse: Warehouse, staged: StagedPartitions) -> AuditResult:
    """Rows added, removed and changed by key against the published partition; change in totals.

    Informational (never blocks): a backfill is expected to change rows; the diff is evidence.
    """
    table = staged.table
    dates = date_list(staged.dates)
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
    counts = {
        row[0]: (int(row[1]), int(row[2]), int(row[3])) for row in warehouse.fetchall(counts_sql)
    }
    totals: dict[date, dict[str, str]] = {}
    if table.money_columns:
        sums = ", ".join(f"SUM({column})" for column in table.money_columns)
        before = {
            r[0]: r[1:]
            for r in warehouse.fetchall(
                f"SELECT business_date, {sums} FROM ({published}) AS pub GROUP BY 1"
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
    per_date = {
        d.isoformat(): {
            "added": counts.get(d, (0, 0, 0))[0],
            "removed": counts.get(d, (0, 0, 0))[1],
            "changed": counts.get(d, (0, 0, 0))[2],
            "total_change": totals.get(d.isoformat(), {}),
        }
        for d in staged.dates
    }
    added = sum(v["added"] for v in per_date.values())
    removed = sum(v["removed"] for v in per_date.values())
    changed = sum(v["changed"] for v in per_date.values())
    return AuditResult(
        name="diff_against_published",
        passed=True,
        blocking=False,
        summary=f"{added} added, {removed} removed, {changed} changed",
        metadata={"added": added, "removed": removed, "changed": changed, "by_date": per_date},
    )


def count_identity(
    raw_rows: Mapping[date, int], outcome_table: str, staged_outcome: str, outcomes: Sequence[str]
) -> Audit:
    """Every raw row is accounted for, per partition: raw = the sum of the rows of each outcome.

    For transactions that is CONTRACT.md's raw = silver + rejected + duplicates removed.
    `outcome_table` holds every raw row of the staged partitions with its `outcome`; the staged
    rows of this table must be exactly those with `staged_outcome`.
    """

    def check(warehouse: Warehouse, staged: StagedPartitions) -> AuditResult:
        sums = ", ".join(
            f"SUM(CASE WHEN outcome = '{name}' THEN 1 ELSE 0 END)" for name in outcomes
        )
        found = {
            r[0]: [int(n or 0) for n in r[1:]]
            for r in warehouse.fetchall(
                f"SELECT business_date, {sums} FROM {outcome_table} GROUP BY business_date"
            )
        }
        staged_counts = dict(
            warehouse.fetchall(
                f"SELECT business_date, COUNT(*) FROM {staged.staging_table} GROUP BY 1"
            )
        )
        by_date: dict[date, bool] = {}
        detail: dict[str, dict[str, int]] = {}
        for d in staged.dates:
            counts = dict(zip(outcomes, found.get(d, [0] * len(outcomes)), strict=True))
            raw = raw_rows.get(d, 0)
            mine = int(staged_counts.get(d, 0))
            by_date[d] = raw == sum(counts.values()) and mine == counts[staged_outcome]
            detail[d.isoformat()] = {
                "raw": raw,
                **{name.lower(): n for name, n in counts.items()},
                "staged": mine,
            }
        bad = [d for d, ok in by_date.items() if not ok]
        return AuditResult(
            name="count_identity",
            passed=not bad,
            summary=(
                f"raw = {' + '.join(o.lower() for o in outcomes)} on every partition"
                if not bad
                else f"identity broken on {', '.join(d.isoformat() for d in bad)}"
            ),
            metadata={"by_date": detail},
            by_date=by_date,
        )

    return check


def reconciles_with_silver(count_column: str | None) -> Audit:
    """Per date, the staged gold net flow (and transaction count) equals silver.transactions'."""

    def check(warehouse: Warehouse, staged: StagedPartitions) -> AuditResult:
        dates = date_list(staged.dates)
        count_sql = f"SUM({count_column})" if count_column else "0"
        gold = {
            r[0]: (r[1] or Decimal(0), int(r[2] or 0))
            for r in warehouse.fetchall(
                f"SELECT business_date, SUM(net_flow_usd), {count_sql} "
                f"FROM {staged.staging_table} GROUP BY 1"
            )
        }
        silver = {
            r[0]: (r[1] or Decimal(0), int(r[2] or 0))
            for r in warehouse.fetchall(
                "SELECT business_date, SUM(signed_amount_usd), COUNT(*) FROM silver.transactions "
                f"WHERE business_date IN ({dates}) GROUP BY 1"
            )
        }
        by_date: dict[date, bool] = {}
        detail = {}
        for d in staged.dates:
            g_net, g_count = gold.get(d, (Decimal(0), 0))
            s_net, s_count = silver.get(d, (Decimal(0), 0))
            by_date[d] = g_net == s_net and (count_column is None or g_count == s_count)
            detail[d.isoformat()] = {
                "gold_net_flow_usd": str(g_net),
                "silver_net_flow_usd": str(s_net),
                **(
                    {"gold_txn_count": g_count, "silver_txn_count": s_count} if count_column else {}
                ),
            }
        bad = [d.isoformat() for d, ok in by_date.items() if not ok]
        return AuditResult(
            name="reconciles_with_silver",
            passed=not bad,
            summary="sums reconcile with silver" if not bad else f"mismatch on {', '.join(bad)}",
            metadata={"by_date": detail},
            by_date=by_date,
        )

    return check


def balance_continuity(table: TableSpec) -> Audit:
    """Each staged day opens at the previous day's closing balance, and no account disappears."""

    def check(warehouse: Warehouse, staged: StagedPartitions) -> AuditResult:
        first = staged.dates[0]
        previous_day = first - timedelta(days=1)
        chain = (
            f"SELECT business_date, account_id, net_flow_usd, closing_balance_usd "
            f"FROM {staged.staging_table} UNION ALL "
            "SELECT business_date, account_id, net_flow_usd, closing_balance_usd "
            f"FROM {table.qualified_name} WHERE business_date = DATE '{previous_day:%Y-%m-%d}'"
        )
        rows = warehouse.fetchall(
            "SELECT today.business_date, "
            "SUM(CASE WHEN today.account_id IS NULL THEN 1 ELSE 0 END), "
            "SUM(CASE WHEN today.account_id IS NOT NULL AND today.closing_balance_usd - "
            "today.net_flow_usd <> COALESCE(yesterday.closing_balance_usd, 0) THEN 1 ELSE 0 END) "
            f"FROM (SELECT * FROM ({chain}) AS c WHERE business_date >= DATE '{first:%Y-%m-%d}') "
            "AS today "
            f"LEFT JOIN ({chain}) AS yesterday ON yesterday.account_id = today.account_id "
            "AND yesterday.business_date = today.business_date - 1 "
            "GROUP BY 1 "
            "UNION ALL "
            "SELECT yesterday.business_date + 1, COUNT(*), 0 "
            f"FROM ({chain}) AS yesterday LEFT JOIN ({chain}) AS today "
            "ON today.account_id = yesterday.account_id "
            "AND today.business_date = yesterday.business_date + 1 "
            f"WHERE today.account_id IS NULL AND yesterday.business_date >= DATE "
            f"'{previous_day:%Y-%m-%d}' AND yesterday.business_date < DATE "
            f"'{staged.dates[-1]:%Y-%m-%d}' GROUP BY 1"
        )
        broken: dict[date, int] = {}
        for business_date, dropped, mismatched in rows:
            broken[business_date] = broken.get(business_date, 0) + int(dropped) + int(mismatched)
        bad = {d: n for d, n in broken.items() if n}
        return AuditResult(
            name="balance_continuity",
            passed=not bad,
            summary=(
                "every opening balance equals the previous closing balance"
                if not bad
                else f"{sum(bad.values())} broken link(s) on "
                + ", ".join(d.isoformat() for d in sorted(bad))
            ),
            metadata={"broken_links": {d.isoformat(): n for d, n in sorted(bad.items())}},
            by_date=_per_date_failures(bad, staged.dates),
        )

    return check
