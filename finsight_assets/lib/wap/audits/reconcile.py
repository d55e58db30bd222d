"""Audits that reconcile staged partitions with what they were computed from: raw row counts,
silver's sums (of the silver versions the staged rows were computed from, `pinned.py`), the
previous day's closing balances (a holding run's own held versions where it holds them,
`hold.relation`).

Each is a function `(warehouse, staged, inputs) -> AuditOutcome`, bound in `lib/wap/checks.py`.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from finsight_assets.lib.contract.tables import UNKNOWN_SEGMENT
from finsight_assets.lib.engines.warehouse import Warehouse, bind, bound, string_literal
from finsight_assets.lib.tables.silver_customers import SILVER_CUSTOMERS
from finsight_assets.lib.tables.silver_transactions import SILVER_TRANSACTIONS
from finsight_assets.lib.wap.hold import relation
from finsight_assets.lib.wap.model import AuditInputs, AuditOutcome, StagedPartitions
from finsight_assets.lib.wap.pinned import source_relation
from finsight_assets.lib.wap.profile import staged_profile


def outcome_counts(warehouse: Warehouse, outcome_rows: str) -> dict[date, dict[str, int]]:
    """Per date, the rows of each outcome in `outcome_rows` (a relation of every raw row with its
    `outcome`): counted once per source, its tables' count identity audits share it
    (`AuditInputs.outcome_counts`)."""
    found: dict[date, dict[str, int]] = {}
    for business_date, outcome, count in warehouse.fetchall(
        f"SELECT business_date, outcome, COUNT(*) FROM {outcome_rows} AS outcomes "
        "GROUP BY business_date, outcome"
    ):
        found.setdefault(business_date, {})[outcome] = int(count)
    return found


def count_identity(
    warehouse: Warehouse, staged: StagedPartitions, inputs: AuditInputs
) -> AuditOutcome:
    """Every raw row is accounted for, per partition: raw = the sum of the rows of each outcome.

    For transactions that is docs/contract.md's raw = silver + rejected + duplicates removed.
    `inputs.outcome_counts` are the rows of each outcome per date (silver counts them once,
    before it drops the outcome rows), or `inputs.outcome_rows` a relation holding every raw row
    of the staged partitions with its `outcome`, to count; the staged rows of this table must be
    exactly those with `inputs.staged_outcome`.
    """
    outcomes = inputs.outcome_labels
    counted = inputs.outcome_counts
    if counted is None:
        counted = outcome_counts(warehouse, str(inputs.outcome_rows))
    found = {
        d: [int(by_outcome.get(name, 0)) for name in outcomes] for d, by_outcome in counted.items()
    }
    staged_counts = {d: day.rows for d, day in staged_profile(warehouse, staged).items()}
    by_date: dict[date, bool] = {}
    detail: dict[str, dict[str, int]] = {}
    for d in staged.dates:
        counts = dict(zip(outcomes, found.get(d, [0] * len(outcomes)), strict=True))
        raw = inputs.raw_rows.get(d, 0)
        mine = int(staged_counts.get(d, 0))
        by_date[d] = raw == sum(counts.values()) and mine == counts[inputs.staged_outcome]
        detail[d.isoformat()] = {
            "raw": raw,
            **{name.lower(): n for name, n in counts.items()},
            "staged": mine,
        }
    bad = [d for d, ok in by_date.items() if not ok]
    return AuditOutcome(
        passed=not bad,
        summary=(
            f"raw = {' + '.join(o.lower() for o in outcomes)} on every partition"
            if not bad
            else f"identity broken on {', '.join(d.isoformat() for d in bad)}"
        ),
        metadata={"by_date": detail},
        by_date=by_date,
    )


def reconciles_with_silver(
    warehouse: Warehouse, staged: StagedPartitions, inputs: AuditInputs
) -> AuditOutcome:
    """Per date, the staged gold net flow (and transaction count, where the table has one)
    equals silver.transactions'."""
    has_count = "txn_count" in staged.table.business_columns
    dates, date_params = bound(staged.dates)
    count_sql = "SUM(txn_count)" if has_count else "0"
    gold = {
        r[0]: (r[1] or Decimal(0), int(r[2] or 0))
        for r in warehouse.fetchall(
            f"SELECT business_date, SUM(net_flow_usd), {count_sql} "
            f"FROM {staged.staging_table} GROUP BY 1"
        )
    }
    source, source_params = source_relation(staged, SILVER_TRANSACTIONS)
    silver = {
        r[0]: (r[1] or Decimal(0), int(r[2] or 0))
        for r in warehouse.fetchall(
            f"SELECT business_date, SUM(signed_amount_usd), COUNT(*) FROM {source} "
            f"WHERE business_date IN ({dates}) GROUP BY 1",
            [*source_params, *date_params],
        )
    }
    by_date: dict[date, bool] = {}
    detail = {}
    for d in staged.dates:
        g_net, g_count = gold.get(d, (Decimal(0), 0))
        s_net, s_count = silver.get(d, (Decimal(0), 0))
        by_date[d] = g_net == s_net and (not has_count or g_count == s_count)
        detail[d.isoformat()] = {
            "gold_net_flow_usd": str(g_net),
            "silver_net_flow_usd": str(s_net),
            **({"gold_txn_count": g_count, "silver_txn_count": s_count} if has_count else {}),
        }
    bad = [d.isoformat() for d, ok in by_date.items() if not ok]
    return AuditOutcome(
        passed=not bad,
        summary="sums reconcile with silver" if not bad else f"mismatch on {', '.join(bad)}",
        metadata={"by_date": detail},
        by_date=by_date,
    )


def balance_continuity(
    warehouse: Warehouse, staged: StagedPartitions, inputs: AuditInputs
) -> AuditOutcome:
    """Each staged day opens at the previous day's closing balance, and no account disappears."""
    first, first_params = bind(staged.dates[0])
    previous, previous_params = bind(staged.dates[0] - timedelta(days=1))
    last, last_params = bind(staged.dates[-1])
    opening, opening_params = relation(staged.run, staged.table)
    # The chain is one CTE, so its date is bound once; parameters in placeholder order.
    rows = warehouse.fetchall(
        "WITH chain AS ("
        "SELECT business_date, account_id, net_flow_usd, closing_balance_usd "
        f"FROM {staged.staging_table} UNION ALL "
        "SELECT business_date, account_id, net_flow_usd, closing_balance_usd "
        f"FROM {opening} WHERE business_date = {previous}) "
        "SELECT today.business_date, "
        "SUM(CASE WHEN today.account_id IS NULL THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN today.account_id IS NOT NULL AND today.closing_balance_usd - "
        "today.net_flow_usd <> COALESCE(yesterday.closing_balance_usd, 0) THEN 1 ELSE 0 END) "
        f"FROM (SELECT * FROM chain WHERE business_date >= {first}) AS today "
        "LEFT JOIN chain AS yesterday ON yesterday.account_id = today.account_id "
        "AND yesterday.business_date = today.business_date - 1 "
        "GROUP BY 1 "
        "UNION ALL "
        "SELECT yesterday.business_date + 1, COUNT(*), 0 "
        "FROM chain AS yesterday LEFT JOIN chain AS today "
        "ON today.account_id = yesterday.account_id "
        "AND today.business_date = yesterday.business_date + 1 "
        f"WHERE today.account_id IS NULL AND yesterday.business_date >= {previous} "
        f"AND yesterday.business_date < {last} GROUP BY 1",
        [*opening_params, *previous_params, *first_params, *previous_params, *last_params],
    )
    broken: dict[date, int] = {}
    for business_date, dropped, mismatched in rows:
        broken[business_date] = broken.get(business_date, 0) + int(dropped) + int(mismatched)
    bad = {d: n for d, n in broken.items() if n}
    return AuditOutcome(
        passed=not bad,
        summary=(
            "every opening balance equals the previous closing balance"
            if not bad
            else f"{sum(bad.values())} broken link(s) on "
            + ", ".join(d.isoformat() for d in sorted(bad))
        ),
        metadata={"broken_links": {d.isoformat(): n for d, n in sorted(bad.items())}},
        by_date={d: d not in bad for d in staged.dates},
    )


def customers_snapshot_present(
    warehouse: Warehouse, staged: StagedPartitions, inputs: AuditInputs
) -> AuditOutcome:
    """Each staged day has a customers snapshot in silver: without one, every active customer
    of the day counts under UNKNOWN/ZZ (docs/contract.md computes it so, with this warning)."""
    dates, date_params = bound(staged.dates)
    source, source_params = source_relation(staged, SILVER_CUSTOMERS)
    snapshot = dict(
        warehouse.fetchall(
            f"SELECT business_date, COUNT(*) FROM {source} "
            f"WHERE business_date IN ({dates}) GROUP BY 1",
            [*source_params, *date_params],
        )
    )
    unknown = dict(
        warehouse.fetchall(
            f"SELECT business_date, SUM(active_customers) FROM {staged.staging_table} "
            f"WHERE segment = {string_literal(UNKNOWN_SEGMENT)} GROUP BY 1"
        )
    )
    by_date = {d: int(snapshot.get(d, 0)) > 0 for d in staged.dates}
    missing = [d.isoformat() for d, ok in by_date.items() if not ok]
    return AuditOutcome(
        passed=not missing,
        summary=(
            "every day has a customers snapshot"
            if not missing
            else f"no customers snapshot on {', '.join(missing)}: every customer is UNKNOWN/ZZ"
        ),
        metadata={
            "by_date": {
                d.isoformat(): {
                    "snapshot_customers": int(snapshot.get(d, 0)),
                    "unknown_active_customers": int(unknown.get(d, 0) or 0),
                }
                for d in staged.dates
            }
        },
        by_date=by_date,
    )
