"""docs/contract.md's rules, row by row, on hand-made raw partitions through Spark and the warehouse."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from finsight_assets_tests.pipeline import query, run_pipeline
from finsight_assets_tests.rawdata import customer, fx, ts, txn, write_raw

MAR_8, DST_DAY, MAR_10, EMPTY_DAY, MAR_12 = (date(2025, 3, d) for d in (8, 9, 10, 11, 12))
DAYS = [MAR_8, DST_DAY, MAR_10, EMPTY_DAY, MAR_12]


@pytest.fixture(scope="module")
def warehouse_home(engine, tmp_path_factory):
    home = tmp_path_factory.mktemp("rules")
    lake = home / "lake"
    on_8 = {"event_ts": ts("2025-03-08 15:00"), "ingested_at": ts("2025-03-08 15:05")}
    write_raw(
        lake,
        "transactions",
        MAR_8,
        [
            txn("dup-identical", amount=Decimal("5.00"), **on_8),
            txn("dup-identical", amount=Decimal("5.00"), **on_8),
            txn("dup-corrected", amount=Decimal("7.00"), **on_8),
            txn(
                "dup-corrected",
                amount=Decimal("8.00"),
                event_ts=ts("2025-03-08 15:00"),
                ingested_at=ts("2025-03-08 16:00"),
            ),
            # Precedence: each row also breaks every later rule.
            txn("missing", account_id=None, event_type="BOGUS", amount=Decimal("-1"), **on_8),
            txn("unknown-type", event_type="BOGUS", amount=Decimal("-1"), currency="XYZ", **on_8),
            txn(
                "non-positive",
                amount=Decimal("0.00"),
                currency="XYZ",
                event_ts=ts("2025-03-07 12:00"),
                ingested_at=ts("2025-03-08 15:05"),
            ),
            txn(
                "wrong-date",
                currency="XYZ",
                event_ts=ts("2025-03-09 05:30"),
                ingested_at=ts("2025-03-09 05:35"),
            ),
            txn("unknown-currency", currency="XYZ", **on_8),
            txn(None, **on_8),
            txn(None, **on_8),
            txn(
                "eur-half-up",
                currency="EUR",
                amount=Decimal("0.25"),
                event_type="DEPOSIT",
                account_id="A2",
                customer_id="C2",
                **on_8,
            ),
            txn("usd-unlisted", amount=Decimal("12.34"), event_type="REFUND", **on_8),
            txn("ghost-customer", customer_id="C404", account_id="A404", **on_8),
        ],
    )
    write_raw(lake, "fx_rates", MAR_8, fx(EUR="1.06000000"))
    write_raw(
        lake,
        "customers",
        MAR_8,
        [
            customer("C1", segment="RETAIL", updated_at=ts("2024-05-01 00:00")),
            customer("C1", segment="SMB", country="CA", updated_at=ts("2025-03-01 00:00")),
            customer("C2", segment="CORPORATE", country="GB", email="\tBob@Example.com\n"),
        ],
    )
    # 2025-03-09: New York switches to daylight time at 02:00 local (07:00 UTC); the business
    # day runs from 05:00 UTC to 04:00 UTC the next morning (23 hours).
    write_raw(
        lake,
        "transactions",
        DST_DAY,
        [
            txn("dst-first", event_ts=ts("2025-03-09 05:00"), ingested_at=ts("2025-03-09 05:01")),
            txn("dst-last", event_ts=ts("2025-03-10 03:59:59"), ingested_at=ts("2025-03-10 04:10")),
            txn(
                "dst-next-day", event_ts=ts("2025-03-10 04:00"), ingested_at=ts("2025-03-10 04:10")
            ),
            txn(
                "dst-previous-day",
                event_ts=ts("2025-03-09 04:59:59"),
                ingested_at=ts("2025-03-09 05:10"),
            ),
        ],
    )
    write_raw(lake, "fx_rates", DST_DAY, fx(USD="2.00000000"))
    write_raw(
        lake,
        "transactions",
        MAR_10,
        [
            txn(
                "mar10",
                event_type="DEPOSIT",
                amount=Decimal("100.00"),
                account_id="A2",
                customer_id="C2",
                event_ts=ts("2025-03-10 16:00"),
                ingested_at=ts("2025-03-10 16:01"),
            ),
        ],
    )
    write_raw(lake, "fx_rates", MAR_10, fx(EUR="1.1"))
    # 2025-03-11 has no raw/transactions folder at all: balances carry forward.
    write_raw(lake, "fx_rates", EMPTY_DAY, fx(EUR="1.1"))
    write_raw(
        lake,
        "transactions",
        MAR_12,
        [
            txn(
                "mar12",
                event_type="FEE",
                amount=Decimal("1.00"),
                event_ts=ts("2025-03-12 16:00"),
                ingested_at=ts("2025-03-12 16:01"),
            ),
        ],
    )
    write_raw(lake, "fx_rates", MAR_12, fx(EUR="1.1"))
    results = run_pipeline(engine, home, DAYS)
    assert all(not r.failed for r in results.values())
    return home


def rejected(home) -> dict[str | None, list[str]]:
    found: dict[str | None, list[str]] = {}
    for event_id, reason in query(
        home, "SELECT event_id, reason_code FROM silver.transactions_rejected"
    ):
        found.setdefault(event_id, []).append(reason)
    return found


def test_each_rejection_reason_and_its_precedence(warehouse_home):
    reasons = rejected(warehouse_home)
    assert reasons["missing"] == ["MISSING_FIELD"]
    assert reasons["unknown-type"] == ["UNKNOWN_EVENT_TYPE"]
    assert reasons["non-positive"] == ["NON_POSITIVE_AMOUNT"]
    assert reasons["wrong-date"] == ["WRONG_BUSINESS_DATE"]
    assert reasons["unknown-currency"] == ["UNKNOWN_CURRENCY"]
    # Rows without an event_id are not duplicates of each other: both are rejected.
    assert reasons[None] == ["MISSING_FIELD", "MISSING_FIELD"]


def test_dedup_keeps_one_identical_delivery_and_the_latest_correction(warehouse_home):
    rows = query(
        warehouse_home,
        "SELECT event_id, amount FROM silver.transactions WHERE event_id LIKE 'dup-%' "
        "ORDER BY event_id",
    )
    assert rows == [("dup-corrected", Decimal("8.00")), ("dup-identical", Decimal("5.00"))]


def test_count_identity_per_partition(warehouse_home):
    raw_rows = 14
    silver = query(
        warehouse_home,
        f"SELECT COUNT(*) FROM silver.transactions WHERE business_date = DATE '{MAR_8}'",
    )[0][0]
    rejected_rows = query(
        warehouse_home,
        f"SELECT COUNT(*) FROM silver.transactions_rejected WHERE business_date = DATE '{MAR_8}'",
    )[0][0]
    duplicates = 2
    assert silver + rejected_rows + duplicates == raw_rows


def test_rounding_half_away_from_zero_and_signs(warehouse_home):
    # 0.25 EUR * 1.06 = 0.265 USD exactly: half away from zero gives 0.27 (half-even 0.26).
    row = query(
        warehouse_home,
        "SELECT amount_usd, signed_amount_usd, usd_rate FROM silver.transactions "
        "WHERE event_id = 'eur-half-up'",
    )[0]
    assert row == (Decimal("0.27"), Decimal("0.27"), Decimal("1.06000000"))


def test_usd_converts_at_one_listed_or_not(warehouse_home):
    rows = dict(
        query(
            warehouse_home,
            "SELECT event_id, usd_rate FROM silver.transactions "
            "WHERE event_id IN ('usd-unlisted', 'dst-first')",
        )
    )
    assert rows == {"usd-unlisted": Decimal("1.00000000"), "dst-first": Decimal("1.00000000")}
    refund = query(
        warehouse_home,
        "SELECT signed_amount_usd FROM silver.transactions WHERE event_id = 'usd-unlisted'",
    )
    assert refund == [(Decimal("12.34"),)]


def test_new_york_business_date_across_the_dst_switch(warehouse_home):
    kept = {
        r[0]
        for r in query(
            warehouse_home,
            f"SELECT event_id FROM silver.transactions WHERE business_date = DATE '{DST_DAY}'",
        )
    }
    assert kept == {"dst-first", "dst-last"}
    reasons = rejected(warehouse_home)
    assert reasons["dst-next-day"] == ["WRONG_BUSINESS_DATE"]
    assert reasons["dst-previous-day"] == ["WRONG_BUSINESS_DATE"]


def test_customer_snapshot_latest_row_wins_and_email_is_hashed(warehouse_home):
    rows = query(
        warehouse_home,
        f"SELECT customer_id, segment, country, email_sha256 FROM silver.customers WHERE business_date = DATE '{MAR_8}' ORDER BY 1",
    )
    import hashlib

    assert rows == [
        ("C1", "SMB", "CA", hashlib.sha256(b"ada@example.com").hexdigest()),
        ("C2", "CORPORATE", "GB", hashlib.sha256(b"bob@example.com").hexdigest()),
    ]
    columns = {
        r[0]
        for r in query(
            warehouse_home,
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'silver'",
        )
    }
    assert not {"email", "full_name"} & columns


def test_customer_missing_from_snapshot_counts_as_unknown(warehouse_home):
    rows = query(
        warehouse_home,
        f"SELECT segment, country, active_customers, txn_count, net_flow_usd FROM gold.segment_daily_report WHERE business_date = DATE '{MAR_8}' ORDER BY 1",
    )
    assert ("UNKNOWN", "ZZ", 1, 1, Decimal("-10.00")) in rows
    by_segment = {r[0]: r for r in rows}
    assert by_segment["SMB"][2] == 1  # C1, counted once over several transactions


def test_balances_carry_forward_over_a_day_without_transactions(warehouse_home):
    rows = query(
        warehouse_home,
        "SELECT business_date, account_id, net_flow_usd, closing_balance_usd FROM gold.account_daily_balance WHERE account_id IN ('A1', 'A2') ORDER BY 2, 1",
    )
    a2 = [(r[0], r[2], r[3]) for r in rows if r[1] == "A2"]
    assert a2 == [
        (MAR_8, Decimal("0.27"), Decimal("0.27")),
        (DST_DAY, Decimal("0.00"), Decimal("0.27")),
        (MAR_10, Decimal("100.00"), Decimal("100.27")),
        (EMPTY_DAY, Decimal("0.00"), Decimal("100.27")),
        (MAR_12, Decimal("0.00"), Decimal("100.27")),
    ]
    a1 = {r[0]: r[3] for r in rows if r[1] == "A1"}
    assert a1[EMPTY_DAY] == a1[MAR_10]
    assert a1[MAR_12] == a1[EMPTY_DAY] - Decimal("1.00")


def test_daily_customer_summary_sums_by_type(warehouse_home):
    row = query(
        warehouse_home,
        f"SELECT txn_count, purchase_usd, refund_usd, deposit_usd, withdrawal_usd, fee_usd, net_flow_usd FROM gold.daily_customer_summary WHERE business_date = DATE '{MAR_8}' AND customer_id = 'C1'",
    )[0]
    # C1 on Mar 8: dup-identical 5.00, dup-corrected 8.00 (purchases), usd-unlisted refund 12.34
    assert row == (
        3,
        Decimal("13.00"),
        Decimal("12.34"),
        Decimal("0.00"),
        Decimal("0.00"),
        Decimal("0.00"),
        Decimal("-0.66"),
    )


def test_no_float_columns_anywhere(warehouse_home):
    types = query(
        warehouse_home,
        "SELECT table_schema, table_name, column_name, data_type FROM information_schema.columns WHERE table_schema IN ('silver', 'gold') AND (data_type LIKE '%FLOAT%' OR data_type LIKE '%DOUBLE%' OR data_type = 'REAL')",
    )
    assert types == []


def test_a_run_of_only_a_day_without_transactions_publishes_it_empty(engine, tmp_path):
    # The daily lane's run of such a day: Spark stages no file at all for its transform.
    write_raw(tmp_path / "lake", "fx_rates", EMPTY_DAY, fx(EUR="1.1"))
    results = run_pipeline(engine, tmp_path, [EMPTY_DAY])
    assert {name: r.failed for name, r in results.items() if r.failed} == {}
    published = results["silver.transactions"].versions["silver.transactions"]
    assert [(v.business_date, v.row_count) for v in published] == [(EMPTY_DAY, 0)]
    assert query(tmp_path, "SELECT COUNT(*) FROM silver.transactions") == [(0,)]
