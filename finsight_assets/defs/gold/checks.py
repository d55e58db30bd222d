"""The checks every gold partition passes before it is published."""

GOLD_CHECKS = ("reconciles_with_silver", "unique_key", "contract_schema", "diff_against_published")
BALANCE_CHECKS = (*GOLD_CHECKS, "balance_continuity")
