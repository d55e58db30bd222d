"""Which table is computed from which: the lineage Dagster's deps and backfill scoping share."""

from __future__ import annotations

from collections.abc import Iterable

UPSTREAM: dict[str, tuple[str, ...]] = {
    "silver.transactions": ("raw.transactions", "raw.fx_rates"),
    "silver.transactions_rejected": ("raw.transactions", "raw.fx_rates"),
    "silver.customers": ("raw.customers",),
    "gold.daily_customer_summary": ("silver.transactions",),
    "gold.segment_daily_report": ("silver.transactions", "silver.customers"),
    "gold.account_daily_balance": ("silver.transactions",),
    "exports.partner_daily_export": ("gold.daily_customer_summary",),
}
# Each partition also reads the previous day's partition of itself.
SELF_DEPENDENT = frozenset({"gold.account_daily_balance"})
# Computed together by one step: selecting one selects all.
COMPUTED_TOGETHER = (frozenset({"silver.transactions", "silver.transactions_rejected"}),)
SILVER_AND_GOLD = tuple(name for name in UPSTREAM if not name.startswith("exports."))
ALL_ASSETS = tuple(UPSTREAM)


def downstream_closure(selected: Iterable[str]) -> list[str]:
    """The selected assets, what is computed with them, and everything downstream, in order."""
    chosen = set(selected)
    unknown = chosen - set(UPSTREAM)
    if unknown:
        raise ValueError(f"unknown asset(s): {', '.join(sorted(unknown))}")
    changed = True
    while changed:
        changed = False
        for group in COMPUTED_TOGETHER:
            if chosen & group and not group <= chosen:
                chosen |= group
                changed = True
        for asset, parents in UPSTREAM.items():
            if asset not in chosen and chosen & set(parents):
                chosen.add(asset)
                changed = True
    return [asset for asset in UPSTREAM if asset in chosen]
