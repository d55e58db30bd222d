"""A table declaration that misses a piece, or names what does not exist, fails at load, naming
the table and the piece; the real declarations load."""

from __future__ import annotations

import dataclasses

import pytest

from finsight_assets.lib.tables import registry
from finsight_assets.lib.tables.checks import SILVER_CHECKS
from finsight_assets.lib.tables.declaration import DeclarationError, MoneyPanel, RawSource, Rule
from finsight_assets.lib.tables.gold_daily_customer_summary import GOLD_DAILY_CUSTOMER_SUMMARY
from finsight_assets.lib.tables.silver_customers import SILVER_CUSTOMERS
from finsight_assets.lib.tables.silver_transactions import SILVER_TRANSACTIONS

SUMMARY = GOLD_DAILY_CUSTOMER_SUMMARY


def _fails(tables, piece: str, name: str) -> None:
    with pytest.raises(DeclarationError) as raised:
        registry.check_registry(tables)
    assert f"table {name}:" in str(raised.value)
    assert piece in str(raised.value)


@pytest.mark.parametrize(
    ("change", "piece"),
    [
        ({"code_version": ""}, "code_version"),
        ({"checks": ()}, "no checks"),
        ({"sql": None}, "no sql"),
        ({"reads": ()}, "no reads"),
        ({"description": ""}, "no description"),
        (
            {"key": ("business_date", "account_id")},
            "key name column(s) not in its columns: account_id",
        ),
        (
            {"money_columns": ("balance",)},
            "money_columns name column(s) not in its columns: balance",
        ),
        ({"rules": {"nope": ()}}, "rules name column(s) not in its columns: nope"),
        (
            {"panels": (MoneyPanel("net flow", "txn_count", "count"),)},
            "txn_count is not one of its money_columns",
        ),
        (
            {"source": RawSource("customers", "customers", ("VALID",), "customer_id")},
            "a source given",
        ),
    ],
)
def test_a_gold_declaration_missing_a_piece_fails_naming_the_table_and_the_piece(change, piece):
    broken = dataclasses.replace(SUMMARY, **change)
    _fails([SILVER_TRANSACTIONS, broken], piece, SUMMARY.qualified_name)


def test_a_gold_table_reading_an_unknown_table_fails():
    broken = dataclasses.replace(SUMMARY, reads=("silver.nowhere",))
    _fails([SILVER_TRANSACTIONS, broken], "reads names unknown", SUMMARY.qualified_name)


@pytest.mark.parametrize(
    ("change", "piece"),
    [
        ({"source": None}, "no source"),
        ({"outcome": "KEPT"}, "outcome 'KEPT'"),
        (
            {"source": RawSource("customers", "clients", ("VALID",), "customer_id")},
            "raw table 'clients'",
        ),
        ({"checks": (*SILVER_CHECKS, SILVER_CHECKS[0])}, "checks repeat"),
        (
            {"rules": {"country": (Rule("str_startswith", ("U",)),)}},
            "rules use check(s) without SQL: str_startswith",
        ),
    ],
)
def test_a_silver_declaration_missing_a_piece_fails_naming_the_table_and_the_piece(change, piece):
    broken = dataclasses.replace(SILVER_CUSTOMERS, **change)
    _fails([broken], piece, SILVER_CUSTOMERS.qualified_name)


def test_the_declared_tables_load_and_everything_derives_from_them():
    registry.check_registry(registry.TABLES, registry.EXPORTS)
    assert set(registry.CODE_VERSIONS) == set(registry.UPSTREAM)
    assert (
        frozenset({"silver.transactions", "silver.transactions_rejected"}),
    ) == registry.COMPUTED_TOGETHER
    assert {"gold.account_daily_balance"} == registry.SELF_DEPENDENT
    assert registry.SILVER_RAW_INPUTS == {
        "silver.transactions": ("transactions", "fx_rates"),
        "silver.customers": ("customers",),
    }
    assert registry.MONEY_PANELS == (
        (
            ("gold.daily_customer_summary", "net_flow_usd", "net flow (USD)"),
            ("silver.transactions", "signed_amount_usd", "net flow (USD, silver)"),
        ),
        (("gold.account_daily_balance", "closing_balance_usd", "closing balances (USD)"),),
    )
