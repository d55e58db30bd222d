"""Tests of the synthetic raw-layer generator against docs/contract.md's raw layer."""

import hashlib
import shutil
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from itertools import pairwise
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from finsight_assets.dev.synthetic import (
    GenerationSummary,
    decimal_from_unscaled,
    generate_raw,
    is_transaction_free_day,
    new_york_day_bounds_utc,
)

NEW_YORK = ZoneInfo("America/New_York")
ROWS = 2_000
START, END = date(2025, 1, 1), date(2025, 3, 1)
EVENT_TYPES = ("PURCHASE", "REFUND", "DEPOSIT", "WITHDRAWAL", "FEE")
REQUIRED = (
    "event_id",
    "transaction_id",
    "account_id",
    "customer_id",
    "event_type",
    "amount",
    "currency",
    "event_ts",
)
REASONS = (
    "MISSING_FIELD",
    "UNKNOWN_EVENT_TYPE",
    "NON_POSITIVE_AMOUNT",
    "WRONG_BUSINESS_DATE",
    "UNKNOWN_CURRENCY",
)

# Written out from docs/contract.md on purpose, rather than imported from the code under test.
UTC_US = pa.timestamp("us", tz="UTC")
CONTRACT_SCHEMAS = {
    "transactions": pa.schema(
        [
            ("event_id", pa.string()),
            ("transaction_id", pa.string()),
            ("account_id", pa.string()),
            ("customer_id", pa.string()),
            ("event_type", pa.string()),
            ("amount", pa.decimal128(18, 2)),
            ("currency", pa.string()),
            ("merchant_category", pa.string()),
            ("event_ts", UTC_US),
            ("ingested_at", UTC_US),
        ]
    ),
    "fx_rates": pa.schema([("currency", pa.string()), ("usd_rate", pa.decimal128(18, 8))]),
    "customers": pa.schema(
        [
            ("customer_id", pa.string()),
            ("full_name", pa.string()),
            ("email", pa.string()),
            ("country", pa.string()),
            ("segment", pa.string()),
            ("kyc_status", pa.string()),
            ("created_at", UTC_US),
            ("updated_at", UTC_US),
        ]
    ),
}


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> tuple[Path, GenerationSummary]:
    """Sixty days of raw data, shared by the read-only tests."""
    lake = tmp_path_factory.mktemp("lake")
    return lake, generate_raw(lake, START, END, rows_per_day=ROWS, seed=7)


def partition_dir(lake: Path, table: str, d: date) -> Path:
    return lake / "raw" / table / f"business_date={d.isoformat()}"


def read_partition(lake: Path, table: str, d: date) -> pa.Table:
    files = sorted(partition_dir(lake, table, d).glob("*.parquet"))
    return pa.concat_tables([pq.read_table(file) for file in files])


def transaction_days(summary: GenerationSummary) -> list[date]:
    return [day.business_date for day in summary.days if day.transactions]


def digests(lake: Path) -> dict[str, str]:
    return {
        str(path.relative_to(lake)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(lake.rglob("*"))
        if path.is_file()
    }


def classify(lake: Path, d: date) -> Counter:
    """docs/contract.md's silver rules, written independently: a count per outcome for one day."""
    raw = read_partition(lake, "transactions", d).to_pandas()
    listed = set(read_partition(lake, "fx_rates", d).column("currency").to_pylist())
    kept = raw.sort_values("ingested_at", kind="stable").drop_duplicates("event_id", keep="last")
    ny_date = kept["event_ts"].dt.tz_convert(NEW_YORK).dt.date
    outcome = np.select(
        [
            kept[list(REQUIRED)].isna().any(axis=1),
            ~kept["event_type"].isin(EVENT_TYPES),
            kept["amount"].map(lambda amount: amount is not None and amount <= 0),
            ny_date != d,
            ~kept["currency"].isin(listed | {"USD"}),
        ],
        REASONS,
        default="VALID",
    )
    counts = Counter(outcome.tolist())
    counts["DUPLICATE"] = len(raw) - len(kept)
    return counts


# --- helpers ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("d", "start", "hours"),
    [
        (date(2025, 1, 15), datetime(2025, 1, 15, 5, tzinfo=UTC), 24),
        (date(2025, 3, 9), datetime(2025, 3, 9, 5, tzinfo=UTC), 23),
        (date(2025, 11, 2), datetime(2025, 11, 2, 4, tzinfo=UTC), 25),
    ],
)
def test_new_york_day_bounds_follow_dst(d, start, hours):
    lower, upper = new_york_day_bounds_utc(d)
    assert lower == start
    assert upper - lower == timedelta(hours=hours)
    assert lower.utcoffset() == timedelta(0)


def test_decimal_from_unscaled_is_exact():
    values = np.array([999_999_999_999_999_999, -5, 0, 123, 7], dtype=np.int64)
    valid = np.array([True, True, True, True, False])
    money = decimal_from_unscaled(values, 2, valid)
    assert money.type == pa.decimal128(18, 2)
    assert money.to_pylist() == [
        Decimal("9999999999999999.99"),
        Decimal("-0.05"),
        Decimal("0.00"),
        Decimal("1.23"),
        None,
    ]
    rate = decimal_from_unscaled(np.array([100_000_000, 660_912]), 8)
    assert rate.type == pa.decimal128(18, 8)
    assert rate.to_pylist() == [Decimal("1.00000000"), Decimal("0.00660912")]
    with pytest.raises(ValueError):
        decimal_from_unscaled(np.array([10**18]), 2)


# --- determinism ----------------------------------------------------------------------------------


def test_same_seed_gives_identical_files_and_other_seed_differs(tmp_path):
    first, second, other = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    for lake, seed in ((first, 11), (second, 11), (other, 12)):
        generate_raw(lake, date(2025, 2, 10), date(2025, 2, 12), rows_per_day=ROWS, seed=seed)
    assert digests(first) == digests(second)
    assert digests(first)
    common = digests(first).keys() & digests(other).keys()
    assert common
    assert all(digests(first)[path] != digests(other)[path] for path in common)


def test_overlapping_ranges_give_identical_common_days(generated, tmp_path):
    lake, _ = generated
    generate_raw(tmp_path, date(2025, 1, 20), date(2025, 1, 24), rows_per_day=ROWS, seed=7)
    small = digests(tmp_path)
    full = digests(lake)
    assert len(small) >= 10
    for path, digest in small.items():
        assert full[path] == digest, path


# --- shape ----------------------------------------------------------------------------------------


def test_files_have_the_contract_schema(generated):
    lake, summary = generated
    extra_days = 0
    for table, expected in CONTRACT_SCHEMAS.items():
        for file in sorted((lake / "raw" / table).glob("business_date=*/*.parquet")):
            schema = pq.read_schema(file).remove_metadata()
            if table == "transactions" and "channel" in schema.names:
                extra_days += 1
                schema = schema.remove(schema.get_field_index("channel"))
            assert schema.equals(expected), f"{file}: {schema}"
    assert extra_days > 0
    assert extra_days < sum(day.files for day in summary.days) / 2


def test_summary_matches_files(generated):
    lake, summary = generated
    assert [day.business_date for day in summary.days] == [
        START + timedelta(days=i) for i in range((END - START).days + 1)
    ]
    for day in summary.days:
        files = list(partition_dir(lake, "transactions", day.business_date).glob("*.parquet"))
        assert len(files) == day.files
        rows = sum(pq.ParquetFile(file).metadata.num_rows for file in files)
        assert rows == day.transactions
        if day.transactions:
            assert 1 <= day.files <= 3
            assert 0.85 * ROWS <= day.transactions <= 1.15 * ROWS
    assert {day.files for day in summary.days if day.transactions} == {1, 2, 3}
    assert summary.total_transactions == sum(day.transactions for day in summary.days)


def test_a_day_without_transactions_for_seed_7(generated):
    lake, summary = generated
    empty = [day.business_date for day in summary.days if day.transactions == 0]
    assert empty
    for d in empty:
        assert is_transaction_free_day(d, seed=7)
        assert not partition_dir(lake, "transactions", d).exists()
        assert read_partition(lake, "fx_rates", d).num_rows >= 5
        assert read_partition(lake, "customers", d).num_rows > 0
    assert len(empty) < len(summary.days) / 10


# --- money ----------------------------------------------------------------------------------------


def test_amounts_are_exact_two_place_decimals(generated):
    lake, summary = generated
    for d in transaction_days(summary)[:10]:
        table = read_partition(lake, "transactions", d)
        amounts = table.column("amount").to_pylist()
        currencies = table.column("currency").to_pylist()
        present = [(a, c) for a, c in zip(amounts, currencies, strict=True) if a is not None]
        assert all(a.as_tuple().exponent == -2 for a, _ in present)
        assert all(a == a.to_integral_value() for a, c in present if c == "JPY")
        assert sum(1 for a, _ in present if a > 0) > 0.98 * len(present)


def test_fx_rates_have_eight_places_and_drift(generated):
    lake, summary = generated
    by_day = {}
    for day in summary.days:
        table = read_partition(lake, "fx_rates", day.business_date)
        columns = table.to_pydict()
        by_day[day.business_date] = dict(zip(columns["currency"], columns["usd_rate"], strict=True))
    usd_days = [rates for rates in by_day.values() if "USD" in rates]
    assert 0 < len(usd_days) < len(by_day) / 2
    assert all(rates["USD"] == Decimal("1.00000000") for rates in usd_days)
    for rates in by_day.values():
        assert {"EUR", "GBP", "CAD", "JPY", "CHF"} <= rates.keys()
        assert all(rate.as_tuple().exponent == -8 and rate > 0 for rate in rates.values())
    days = sorted(by_day)
    for yesterday, today in pairwise(days):
        for currency in ("EUR", "JPY"):
            before, after = by_day[yesterday][currency], by_day[today][currency]
            assert before != after
            assert abs(after / before - 1) < Decimal("0.03")


# --- deliberate mess ------------------------------------------------------------------------------


def test_duplicates_are_identical_or_corrected(generated):
    lake, summary = generated
    identical = corrected = rows = 0
    for d in transaction_days(summary)[:15]:
        frame = read_partition(lake, "transactions", d).to_pandas()
        rows += len(frame)
        repeated = frame[frame["event_id"].notna() & frame.duplicated("event_id", keep=False)]
        for _, group in repeated.groupby("event_id"):
            assert len(group) == 2
            first, second = group.sort_values("ingested_at").to_dict("records")
            if first == second:
                identical += 1
            else:
                corrected += 1
                assert second["ingested_at"] > first["ingested_at"]
                assert second["amount"] != first["amount"] and second["amount"] > 0
                changed = {key for key in first if first[key] != second[key]}
                assert changed == {"amount", "ingested_at"}
    assert identical > 0 and corrected > 0
    assert 0.003 * rows < identical + corrected < 0.02 * rows


def test_every_rejection_reason_is_present(generated):
    lake, summary = generated
    totals = Counter()
    for d in transaction_days(summary)[:20]:
        totals += classify(lake, d)
    raw_rows = sum(totals.values())
    for reason in REASONS:
        assert totals[reason] > 0, reason
        assert totals[reason] < 0.01 * raw_rows, reason
    assert totals["DUPLICATE"] > 0
    assert totals["VALID"] > 0.95 * raw_rows


def test_missing_fields_vary(generated):
    lake, summary = generated
    nulls = Counter()
    for d in transaction_days(summary):
        table = read_partition(lake, "transactions", d)
        for name in REQUIRED:
            nulls[name] += table.column(name).null_count
        assert table.column("event_id").null_count <= 1
    assert len([name for name in REQUIRED if nulls[name]]) >= 6


@pytest.mark.parametrize("d", [date(2025, 3, 9), date(2025, 11, 2)])
def test_event_times_fall_on_the_new_york_day_across_dst(tmp_path, d):
    summary = generate_raw(tmp_path, d, d, rows_per_day=ROWS, seed=7)
    assert summary.total_transactions > 0
    table = read_partition(tmp_path, "transactions", d)
    event_ts = table.column("event_ts").to_pandas().dropna()
    ny_dates = event_ts.dt.tz_convert(NEW_YORK).dt.date
    neighbours = {d - timedelta(days=1), d + timedelta(days=1)}
    off_day = ny_dates != d
    # Only the deliberate WRONG_BUSINESS_DATE rows leave the day, and only to a neighbour.
    assert set(ny_dates[off_day]) <= neighbours
    assert 0 < off_day.sum() < 0.01 * len(event_ts)
    start, end = new_york_day_bounds_utc(d)
    on_day = event_ts[~off_day]
    assert (on_day >= pd.Timestamp(end - timedelta(hours=1))).any()
    assert (on_day < pd.Timestamp(start + timedelta(hours=3))).any()
    ingested = table.column("ingested_at").to_pandas()
    assert (ingested[event_ts.index] >= event_ts).all()


# --- customers ------------------------------------------------------------------------------------


def test_customer_snapshot_repeats_and_omissions(generated):
    lake, summary = generated
    for d in transaction_days(summary)[:5]:
        snapshot = read_partition(lake, "customers", d).to_pandas()
        counts = snapshot["customer_id"].value_counts()
        repeated = counts[counts > 1]
        assert len(repeated) > 0 and (repeated == 2).all()
        for _, pair in snapshot[snapshot["customer_id"].isin(repeated.index)].groupby(
            "customer_id"
        ):
            older, newer = pair.sort_values("updated_at").to_dict("records")
            assert older["updated_at"] < newer["updated_at"]
            assert (older["segment"], older["kyc_status"]) != (
                newer["segment"],
                newer["kyc_status"],
            )
        transacting = set(read_partition(lake, "transactions", d).column("customer_id").to_pylist())
        absent = transacting - set(snapshot["customer_id"]) - {None}
        assert absent and len(absent) < 0.1 * len(transacting)
        assert set(snapshot["segment"]) <= {"RETAIL", "SMB", "CORPORATE"}
        assert snapshot["country"].str.fullmatch("[A-Z]{2}").all()
        assert snapshot["customer_id"].str.fullmatch(r"C\d{6}").all()
        assert (snapshot["created_at"] <= snapshot["updated_at"]).all()


def test_customer_emails_are_messy_but_normalisable(generated):
    lake, summary = generated
    emails = pd.concat(
        read_partition(lake, "customers", day.business_date).column("email").to_pandas()
        for day in summary.days[:20]
    )
    assert (emails != emails.str.strip()).any()
    assert (emails.str.strip() != emails.str.strip().str.lower()).any()
    assert emails.str.strip().str.lower().str.fullmatch(r"[a-z.]+\d+@[a-z.]+").all()


def test_accounts_belong_to_one_customer_and_activity_is_skewed(generated):
    lake, summary = generated
    frames = [
        read_partition(lake, "transactions", d).to_pandas() for d in transaction_days(summary)[:10]
    ]
    frame = pd.concat(frames).dropna(subset=["account_id", "customer_id"])
    assert (frame.groupby("account_id")["customer_id"].nunique() == 1).all()
    assert frame["account_id"].str.fullmatch(r"A\d{7}").all()
    assert (frame.groupby("customer_id")["account_id"].nunique() > 1).any()
    per_customer = frame["customer_id"].value_counts()
    top_decile = per_customer.iloc[: max(1, len(per_customer) // 10)].sum()
    assert top_decile > 0.3 * len(frame)
    types = frame["event_type"].value_counts(normalize=True)
    assert types.idxmax() == "PURCHASE"
    assert frame["currency"].value_counts().idxmax() == "USD"
    purchases = frame[frame["event_type"].isin(["PURCHASE", "REFUND"])]
    assert purchases["merchant_category"].notna().all()
    assert frame[frame["event_type"] == "DEPOSIT"]["merchant_category"].isna().all()


# --- re-runs --------------------------------------------------------------------------------------


def test_rerun_replaces_partitions_instead_of_adding(tmp_path):
    start, end = date(2025, 1, 1), date(2025, 1, 4)  # 2025-01-02 has no transactions for seed 7
    generate_raw(tmp_path, start, end, rows_per_day=ROWS, seed=7)
    before = digests(tmp_path)
    busy = partition_dir(tmp_path, "transactions", date(2025, 1, 3))
    shutil.copy(next(busy.glob("*.parquet")), busy / "late-delivery.parquet")
    skipped = partition_dir(tmp_path, "transactions", date(2025, 1, 2))
    skipped.mkdir(parents=True)
    shutil.copy(next(busy.glob("*.parquet")), skipped / "part-000.parquet")

    generate_raw(tmp_path, start, end, rows_per_day=ROWS, seed=7)
    assert digests(tmp_path) == before

    summary = generate_raw(tmp_path, start, end, rows_per_day=300, seed=7)
    for day in summary.days:
        folder = partition_dir(tmp_path, "transactions", day.business_date)
        files = sorted(folder.glob("*.parquet"))
        assert len(files) == day.files
        assert sum(pq.ParquetFile(file).metadata.num_rows for file in files) == day.transactions
    assert not any(path.name.endswith(".tmp") for path in tmp_path.rglob("*"))


def test_on_day_reports_every_date_and_arguments_are_checked(tmp_path):
    seen = []
    generate_raw(tmp_path, date(2025, 1, 3), date(2025, 1, 5), rows_per_day=100, on_day=seen.append)
    assert seen == [date(2025, 1, 3), date(2025, 1, 4), date(2025, 1, 5)]
    with pytest.raises(ValueError):
        generate_raw(tmp_path, date(2025, 1, 5), date(2025, 1, 3))
    with pytest.raises(ValueError):
        generate_raw(tmp_path, date(2025, 1, 5), date(2025, 1, 5), rows_per_day=0)
