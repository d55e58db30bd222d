"""Deterministic, vectorised synthetic generator of FinSight's raw layer.

Every business date is generated from random streams seeded by (seed, date) only, so a day's
files are byte-identical whatever range is requested. The data is realistic on purpose: skewed
activity, re-deliveries and corrections, a few rows of every rejection reason, days without
transactions, extra columns, repeated and missing customers in the snapshot.

What the data holds on purpose, per business date D (rates are shares of D's rows):
- about 1% of events delivered twice under the same event_id: half identical copies, half
  corrections with a later ingested_at and a different amount (only those two columns differ);
- about 0.3% of rows for each rejection reason, one defect per row: a null required column
  (event_id at most once per partition), event_type CHARGEBACK/TRANSFER/ADJUSTMENT, an amount
  of 0 or below, an event_ts on D-1 or D+1 in New York, currency XYZ/BTC/MXN;
- one day in every 30-day block without a raw/transactions folder (is_transaction_free_day);
- about one day in ten with an extra transactions column, channel, in every file of that day;
- USD in raw/fx_rates on about one day in four, at exactly 1;
- customer snapshots that omit a few transacting customers and list about 2% of customers twice
  (the row with the later updated_at is current), emails sometimes re-cased or space-padded.
"""

import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from finsight_assets.lib.contract.tables import (
    EVENT_TYPES,
    RAW_SCHEMAS,
    REQUIRED_TRANSACTION_FIELDS,
)

logger = logging.getLogger(__name__)

BUSINESS_TIME_ZONE = "America/New_York"

# Invalid values appended after the valid ones, so a row's code is an index into the vocabulary.
TRANSACTION_EVENT_TYPES = (*EVENT_TYPES, "CHARGEBACK", "TRANSFER", "ADJUSTMENT")
FX_CURRENCIES = ("EUR", "GBP", "CAD", "JPY", "CHF")
TRANSACTION_CURRENCIES = ("USD", *FX_CURRENCIES, "XYZ", "BTC", "MXN")
MERCHANT_CATEGORIES = (
    "GROCERY",
    "RESTAURANTS",
    "TRAVEL",
    "ELECTRONICS",
    "FUEL",
    "ENTERTAINMENT",
    "HEALTH",
    "UTILITIES",
)
CHANNELS = ("APP", "WEB", "POS", "API")
COUNTRIES = ("US", "CA", "GB", "DE", "FR", "JP", "CH")
SEGMENTS = ("RETAIL", "SMB", "CORPORATE")
KYC_STATUSES = ("VERIFIED", "PENDING", "REJECTED")
EXTRA_TRANSACTION_COLUMN = "channel"

_FIRST_NAMES = (
    "Ana", "Ben", "Chloe", "David", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jamal",
    "Kate", "Liam", "Maria", "Noah", "Olga", "Priya", "Quinn", "Rosa", "Sven", "Tara",
    "Umar", "Vera", "Wei", "Xavier", "Yara", "Zoe",
)  # fmt: skip
_LAST_NAMES = (
    "Garcia", "Smith", "Nguyen", "Muller", "Rossi", "Kowalski", "Okafor", "Tanaka",
    "Dubois", "Silva", "Cohen", "Patel", "Jensen", "O'Brien", "Novak", "Kim", "Lopez",
    "Brown", "Schmidt", "Moreau",
)  # fmt: skip
_EMAIL_DOMAINS = ("example.com", "example.org", "example.net", "mail.example")

_EVENT_TYPE_WEIGHTS = (0.70, 0.05, 0.10, 0.08, 0.07)
# Typical size of each event type in USD cents (median of a lognormal) and its spread.
_MEDIAN_USD_CENTS = np.array([3_500.0, 3_000.0, 150_000.0, 20_000.0, 500.0])
_AMOUNT_SIGMA = np.array([1.0, 0.9, 0.9, 0.8, 0.5])
_CURRENCY_WEIGHTS = (0.70, 0.10, 0.06, 0.06, 0.04, 0.04)
_FX_BASE_RATES = np.array([1.08, 1.27, 0.73, 0.0066, 1.12])
_APPROX_USD_RATE = np.array([1.0, *_FX_BASE_RATES, 1.0, 1.0, 1.0])
# JPY has no minor unit: its amounts are whole yen (a multiple of 100 hundredths).
_MINOR_UNIT = np.array([1, 1, 1, 1, 100, 1, 1, 1, 1], dtype=np.int64)
_MAX_CENTS = 10**12

_DEFECT_RATE = 0.003  # share of rows per rejection reason
_REDELIVERY_RATE = 0.01
_EXTRA_COLUMN_RATE = 0.1
_USD_LISTED_RATE = 0.25
_SKIP_BLOCK_DAYS = 30
_SNAPSHOT_ABSENT_RATE = 0.005
_SNAPSHOT_REPEAT_RATE = 0.02

# Random stream tags: each purpose draws from its own stream so that changing one does not
# shift the others. Date ordinals start at 1, so ordinal 0 marks date-independent streams.
_POPULATION_STREAM = 1
_FX_PHASE_STREAM = 2
_TRANSACTIONS_STREAM = 3
_FX_STREAM = 4
_CUSTOMERS_STREAM = 5
_FLAGS_STREAM = 6
_SKIP_STREAM = 7

_MICROS_PER_SECOND = 1_000_000
_MICROS_PER_DAY = 86_400 * _MICROS_PER_SECOND
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class GeneratedDay:
    """What was written for one business date."""

    business_date: date
    transactions: int  # raw rows written for raw/transactions (0 when the day is skipped)
    files: int  # files written for raw/transactions that day


@dataclass(frozen=True)
class GenerationSummary:
    """What a call of generate_raw wrote, day by day."""

    days: list[GeneratedDay]

    @property
    def total_transactions(self) -> int:
        """Raw transaction rows written over all days."""
        return sum(day.transactions for day in self.days)


@dataclass(frozen=True)
class _Population:
    """The fixed customers and accounts of a (seed, size): the same for every business date."""

    customer_ids: pa.Array
    full_names: pa.Array
    emails: pa.Array
    country: np.ndarray
    segment: np.ndarray
    kyc_status: np.ndarray
    created_us: np.ndarray
    updated_us: np.ndarray
    activity: np.ndarray  # probability that a transaction belongs to each customer
    first_account: np.ndarray
    account_count: np.ndarray
    account_ids: pa.Array

    @property
    def size(self) -> int:
        return len(self.customer_ids)


def new_york_day_bounds_utc(d: date) -> tuple[datetime, datetime]:
    """Return [start, end) in UTC of business date d: New York midnight to the next midnight.

    The interval is 23 hours on the spring DST switch and 25 hours on the autumn one.
    """
    zone = ZoneInfo(BUSINESS_TIME_ZONE)
    start = datetime.combine(d, time(0), tzinfo=zone)
    end = datetime.combine(d + timedelta(days=1), time(0), tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def is_transaction_free_day(d: date, seed: int = 7) -> bool:
    """Tell whether the generator writes no raw/transactions partition for d.

    Exactly one day in every block of 30 consecutive date ordinals is skipped, so any range of
    59 days or more contains at least one such day.
    """
    block, position = divmod(d.toordinal(), _SKIP_BLOCK_DAYS)
    skipped = np.random.default_rng([seed, block, _SKIP_STREAM]).integers(_SKIP_BLOCK_DAYS)
    return position == int(skipped)


def decimal_from_unscaled(
    unscaled: np.ndarray, scale: int, valid: np.ndarray | None = None
) -> pa.Array:
    """Build a decimal128(18, scale) array whose values are unscaled * 10**-scale, exactly.

    The integers are cast to decimals of scale 0 and the buffer is reinterpreted with the
    wanted scale, so no value ever passes through a float.
    """
    unscaled = np.asarray(unscaled, dtype=np.int64)
    if unscaled.size and int(np.abs(unscaled).max()) >= 10**18:
        raise ValueError("unscaled value does not fit in 18 digits")
    mask = None if valid is None else ~np.asarray(valid, dtype=bool)
    integers = pa.array(unscaled, type=pa.int64(), mask=mask)
    return integers.cast(pa.decimal128(19, 0)).view(pa.decimal128(18, scale))


def generate_raw(
    lake: Path,
    start: date,
    end: date,
    *,
    rows_per_day: int = 20_000,
    seed: int = 7,
    customers: int | None = None,
    on_day: Callable[[date], None] | None = None,
) -> GenerationSummary:
    """Write raw/transactions, raw/fx_rates and raw/customers for every date in [start, end].

    A partition that is generated replaces whatever that partition held before, so running
    the generator twice gives the same files. on_day is called after each date is written.
    """
    if end < start:
        raise ValueError(f"end {end} is before start {start}")
    if rows_per_day < 1:
        raise ValueError("rows_per_day must be at least 1")
    if seed < 0:
        raise ValueError("seed must be non-negative")
    population_size = max(50, rows_per_day // 20) if customers is None else customers
    if population_size < 1:
        raise ValueError("customers must be at least 1")

    population = _build_population(seed, population_size)
    days = []
    for offset in range((end - start).days + 1):
        business_date = start + timedelta(days=offset)
        day = _generate_day(Path(lake), business_date, population, rows_per_day, seed)
        days.append(day)
        logger.debug("generated %s: %d transactions", business_date, day.transactions)
        if on_day is not None:
            on_day(business_date)
    summary = GenerationSummary(days=days)
    logger.info(
        "generated raw data for %s..%s: %d days, %d transactions",
        start,
        end,
        len(days),
        summary.total_transactions,
    )
    return summary


def _generate_day(
    lake: Path, d: date, population: _Population, rows_per_day: int, seed: int
) -> GeneratedDay:
    transactions_dir = _partition_dir(lake, "transactions", d)
    transacting = np.empty(0, dtype=np.int64)
    rows = files = 0
    if is_transaction_free_day(d, seed):
        _remove_partition(transactions_dir)
    else:
        rng = _day_rng(seed, d, _TRANSACTIONS_STREAM)
        with_extra = _day_rng(seed, d, _FLAGS_STREAM).random() < _EXTRA_COLUMN_RATE
        table, transacting = _transactions_table(rng, d, population, rows_per_day, with_extra)
        parts = _split_into_files(rng, table)
        _write_partition(transactions_dir, parts)
        rows, files = table.num_rows, len(parts)

    fx = _fx_rates_table(seed, d)
    _write_partition(_partition_dir(lake, "fx_rates", d), [fx])
    snapshot = _customers_table(_day_rng(seed, d, _CUSTOMERS_STREAM), d, population, transacting)
    _write_partition(_partition_dir(lake, "customers", d), [snapshot])
    return GeneratedDay(business_date=d, transactions=rows, files=files)


# --- population -------------------------------------------------------------------------------


def _build_population(seed: int, size: int) -> _Population:
    rng = np.random.default_rng([seed, 0, _POPULATION_STREAM])
    numbers = np.arange(1, size + 1)
    first = _vocabulary(_FIRST_NAMES).take(rng.integers(len(_FIRST_NAMES), size=size))
    last = _vocabulary(_LAST_NAMES).take(rng.integers(len(_LAST_NAMES), size=size))
    domain = _vocabulary(_EMAIL_DOMAINS).take(rng.integers(len(_EMAIL_DOMAINS), size=size))
    local_part = pc.binary_join_element_wise(
        pc.utf8_lower(first), ".", pc.replace_substring(pc.utf8_lower(last), "'", ""), ""
    )
    emails = pc.binary_join_element_wise(
        local_part, pc.cast(pa.array(numbers), pa.string()), "@", domain, ""
    )

    created_from = _to_micros(datetime(2018, 1, 1, tzinfo=UTC))
    created_to = _to_micros(datetime(2024, 6, 30, tzinfo=UTC))
    created_us = rng.integers(created_from, created_to, size=size)
    updated_us = created_us + rng.integers(0, 180 * _MICROS_PER_DAY, size=size)

    # Zipf-Mandelbrot weights over a random ranking: about 20% of the customers make 75-80% of
    # the transactions, while the offset keeps the very top from dominating a large population.
    ranks = rng.permutation(size) + 1
    weights = (ranks + max(5.0, size / 100)) ** -1.3
    account_count = rng.choice(np.array([1, 2, 3]), size=size, p=[0.6, 0.3, 0.1])
    first_account = np.cumsum(account_count) - account_count
    return _Population(
        customer_ids=_format_ids("C", numbers, 6),
        full_names=pc.binary_join_element_wise(first, last, " "),
        emails=emails,
        country=rng.choice(len(COUNTRIES), size=size, p=[0.6, 0.1, 0.1, 0.07, 0.06, 0.04, 0.03]),
        segment=rng.choice(len(SEGMENTS), size=size, p=[0.8, 0.15, 0.05]),
        kyc_status=rng.choice(len(KYC_STATUSES), size=size, p=[0.9, 0.08, 0.02]),
        created_us=created_us,
        updated_us=updated_us,
        activity=weights / weights.sum(),
        first_account=first_account,
        account_count=account_count,
        account_ids=_format_ids("A", np.arange(1, int(account_count.sum()) + 1), 7),
    )


# --- transactions -----------------------------------------------------------------------------


def _transactions_table(
    rng: np.random.Generator, d: date, population: _Population, rows_per_day: int, extra: bool
) -> tuple[pa.Table, np.ndarray]:
    """Return the day's raw rows in delivery order and the customers who transacted."""
    n = max(1, round(rows_per_day * rng.uniform(0.9, 1.1)))
    rows, valid = _clean_rows(rng, d, population, n)
    untouched = _inject_defects(rng, d, rows, valid)
    rows, valid = _add_redeliveries(rng, rows, valid, untouched)
    order = rng.permutation(len(rows["seq"]))
    rows = {name: column[order] for name, column in rows.items()}
    valid = {name: column[order] for name, column in valid.items()}
    return _transactions_arrow(d, rows, valid, population, extra), np.unique(rows["customer"])


def _clean_rows(
    rng: np.random.Generator, d: date, population: _Population, n: int
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Valid rows as integer codes, plus a validity mask per nullable output column."""
    customer = rng.choice(population.size, size=n, p=population.activity)
    account = population.first_account[customer] + (
        rng.random(n) * population.account_count[customer]
    ).astype(np.int64)
    event_type = rng.choice(len(EVENT_TYPES), size=n, p=_EVENT_TYPE_WEIGHTS)
    currency = rng.choice(len(_CURRENCY_WEIGHTS), size=n, p=_CURRENCY_WEIGHTS)
    event_us = _event_times_us(rng, d, n)
    rows = {
        "seq": np.arange(n, dtype=np.int64),
        "txn_seq": rng.permutation(n).astype(np.int64),
        "account": account,
        "customer": customer,
        "event_type": event_type,
        "cents": _amount_cents(rng, event_type, currency),
        "currency": currency,
        "merchant": rng.integers(len(MERCHANT_CATEGORIES), size=n),
        "channel": rng.integers(len(CHANNELS), size=n),
        "event_us": event_us,
        "ingested_us": event_us + _ingestion_lag_us(rng, n),
    }
    valid = {field: np.ones(n, dtype=bool) for field in REQUIRED_TRANSACTION_FIELDS}
    valid["merchant_category"] = event_type <= EVENT_TYPES.index("REFUND")
    return rows, valid


def _amount_cents(
    rng: np.random.Generator, event_type: np.ndarray, currency: np.ndarray
) -> np.ndarray:
    usd_cents = rng.lognormal(np.log(_MEDIAN_USD_CENTS[event_type]), _AMOUNT_SIGMA[event_type])
    unit = _MINOR_UNIT[currency]
    units = np.rint(usd_cents / _APPROX_USD_RATE[currency] / unit)
    return np.clip(units.astype(np.int64), 1, _MAX_CENTS // unit) * unit


def _event_times_us(rng: np.random.Generator, d: date, n: int) -> np.ndarray:
    """Event times within d's New York day, busier in the afternoon than at night."""
    start, end = (_to_micros(bound) for bound in new_york_day_bounds_utc(d))
    span = end - start
    fraction = np.where(rng.random(n) < 0.8, rng.beta(2.5, 2.0, size=n), rng.random(n))
    return start + np.minimum((fraction * span).astype(np.int64), span - 1)


def _ingestion_lag_us(rng: np.random.Generator, n: int) -> np.ndarray:
    seconds = np.clip(rng.lognormal(np.log(45.0), 1.2, size=n), 1.0, 6 * 3600.0)
    return (seconds * _MICROS_PER_SECOND).astype(np.int64)


def _inject_defects(
    rng: np.random.Generator, d: date, rows: dict[str, np.ndarray], valid: dict[str, np.ndarray]
) -> np.ndarray:
    """Give a few disjoint rows each rejection reason; return the rows left untouched.

    Each spoiled row has exactly one defect, so it fails exactly its intended rule.
    """
    n = len(rows["seq"])
    counts = rng.binomial(n, _DEFECT_RATE, size=5)
    picked = rng.choice(n, size=min(n, int(counts.sum())), replace=False)
    missing, bad_type, non_positive, wrong_date, bad_currency = np.split(
        picked, np.cumsum(counts)[:-1]
    )

    field = rng.integers(1, len(REQUIRED_TRANSACTION_FIELDS), size=len(missing))
    # A null event_id on at most one row per partition: several would be ambiguous to dedupe.
    if len(missing) and rng.random() < 0.5:
        field[0] = 0
    for index, name in enumerate(REQUIRED_TRANSACTION_FIELDS):
        valid[name][missing[field == index]] = False

    rows["event_type"][bad_type] = len(EVENT_TYPES) + rng.integers(
        len(TRANSACTION_EVENT_TYPES) - len(EVENT_TYPES), size=len(bad_type)
    )
    zero = rng.random(len(non_positive)) < 0.3
    rows["cents"][non_positive] = np.where(zero, 0, -rows["cents"][non_positive])
    _move_to_neighbour_days(rng, d, rows, wrong_date)
    rows["currency"][bad_currency] = len(_CURRENCY_WEIGHTS) + rng.integers(
        len(TRANSACTION_CURRENCIES) - len(_CURRENCY_WEIGHTS), size=len(bad_currency)
    )
    return np.setdiff1d(np.arange(n), picked, assume_unique=True)


def _move_to_neighbour_days(
    rng: np.random.Generator, d: date, rows: dict[str, np.ndarray], selected: np.ndarray
) -> None:
    later = rng.random(len(selected)) < 0.5
    for offset, chosen in ((-1, selected[~later]), (1, selected[later])):
        rows["event_us"][chosen] = _event_times_us(rng, d + timedelta(days=offset), len(chosen))
        rows["ingested_us"][chosen] = rows["event_us"][chosen] + _ingestion_lag_us(rng, len(chosen))


def _add_redeliveries(
    rng: np.random.Generator,
    rows: dict[str, np.ndarray],
    valid: dict[str, np.ndarray],
    candidates: np.ndarray,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Append second deliveries of some valid rows: half identical, half corrected later."""
    n = len(rows["seq"])
    count = min(int(rng.binomial(n, _REDELIVERY_RATE)), len(candidates))
    sources = rng.choice(candidates, size=count, replace=False)
    take = np.concatenate([np.arange(n), sources])
    rows = {name: column[take] for name, column in rows.items()}
    valid = {name: column[take] for name, column in valid.items()}

    corrected = np.arange(n + count // 2, n + count)
    delay_s = rng.uniform(600.0, 6 * 3600.0, size=len(corrected))
    rows["ingested_us"][corrected] += (delay_s * _MICROS_PER_SECOND).astype(np.int64)
    rows["cents"][corrected] = _corrected_cents(
        rng, rows["cents"][corrected], rows["currency"][corrected]
    )
    return rows, valid


def _corrected_cents(
    rng: np.random.Generator, cents: np.ndarray, currency: np.ndarray
) -> np.ndarray:
    unit = _MINOR_UNIT[currency]
    factor = rng.uniform(0.8, 1.25, size=len(cents))
    changed = np.maximum(np.rint(cents * factor / unit).astype(np.int64), 1) * unit
    return np.where(changed == cents, cents + unit, changed)


def _transactions_arrow(
    d: date,
    rows: dict[str, np.ndarray],
    valid: dict[str, np.ndarray],
    population: _Population,
    extra: bool,
) -> pa.Table:
    stamp = f"{d:%Y%m%d}"
    columns = {
        "event_id": _null_where_invalid(
            _format_ids(f"EV{stamp}-", rows["seq"], 7), valid["event_id"]
        ),
        "transaction_id": _null_where_invalid(
            _format_ids(f"TX{stamp}-", rows["txn_seq"], 7), valid["transaction_id"]
        ),
        "account_id": _take(population.account_ids, rows["account"], valid["account_id"]),
        "customer_id": _take(population.customer_ids, rows["customer"], valid["customer_id"]),
        "event_type": _take(
            _vocabulary(TRANSACTION_EVENT_TYPES), rows["event_type"], valid["event_type"]
        ),
        "amount": decimal_from_unscaled(rows["cents"], 2, valid["amount"]),
        "currency": _take(_vocabulary(TRANSACTION_CURRENCIES), rows["currency"], valid["currency"]),
        "merchant_category": _take(
            _vocabulary(MERCHANT_CATEGORIES), rows["merchant"], valid["merchant_category"]
        ),
        "event_ts": _timestamps(rows["event_us"], valid["event_ts"]),
        "ingested_at": _timestamps(rows["ingested_us"]),
    }
    schema = RAW_SCHEMAS["transactions"]
    if extra:
        columns[EXTRA_TRANSACTION_COLUMN] = _take(_vocabulary(CHANNELS), rows["channel"])
        schema = schema.append(pa.field(EXTRA_TRANSACTION_COLUMN, pa.string()))
    return pa.table(columns, schema=schema)


def _split_into_files(rng: np.random.Generator, table: pa.Table) -> list[pa.Table]:
    count = min(int(rng.integers(1, 4)), table.num_rows)
    cuts = np.sort(rng.choice(np.arange(1, table.num_rows), size=count - 1, replace=False))
    bounds = [0, *cuts.tolist(), table.num_rows]
    return [table.slice(lo, hi - lo) for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)]


# --- fx rates ---------------------------------------------------------------------------------


def _fx_rates_table(seed: int, d: date) -> pa.Table:
    """Rates that drift smoothly with the date (so they depend on nothing but seed and date)."""
    phases = np.random.default_rng([seed, 0, _FX_PHASE_STREAM]).uniform(
        0.0, 2 * np.pi, size=(2, len(FX_CURRENCIES))
    )
    rng = _day_rng(seed, d, _FX_STREAM)
    t = d.toordinal()
    log_drift = (
        0.04 * np.sin(2 * np.pi * t / 365.0 + phases[0])
        + 0.015 * np.sin(2 * np.pi * t / 47.0 + phases[1])
        + rng.normal(0.0, 0.002, size=len(FX_CURRENCIES))
    )
    units = np.rint(_FX_BASE_RATES * np.exp(log_drift) * 1e8).astype(np.int64)
    currencies = list(FX_CURRENCIES)
    if rng.random() < _USD_LISTED_RATE:
        currencies.insert(0, "USD")
        units = np.concatenate([[10**8], units])
    return pa.table(
        {
            "currency": pa.array(currencies, pa.string()),
            "usd_rate": decimal_from_unscaled(units, 8),
        },
        schema=RAW_SCHEMAS["fx_rates"],
    )


# --- customers --------------------------------------------------------------------------------


def _customers_table(
    rng: np.random.Generator, d: date, population: _Population, transacting: np.ndarray
) -> pa.Table:
    """The day's snapshot: a few transacting customers absent, a few listed twice."""
    # Absent customers are drawn among the less active ones who transacted, so that they stay
    # a small share of the day's transactions.
    quiet = transacting[population.activity[transacting] <= np.median(population.activity)]
    pool = quiet if len(quiet) else np.arange(population.size)
    absent_count = min(len(pool), max(1, round(population.size * _SNAPSHOT_ABSENT_RATE)))
    listed = np.ones(population.size, dtype=bool)
    listed[rng.choice(pool, size=absent_count, replace=False)] = False
    current = np.flatnonzero(listed)
    repeat_count = min(len(current), max(1, round(len(current) * _SNAPSHOT_REPEAT_RATE)))
    repeated = np.sort(rng.choice(current, size=repeat_count, replace=False))

    customer = np.concatenate([current, repeated])
    segment = population.segment[customer]
    kyc_status = population.kyc_status[customer]
    updated_us = population.updated_us[customer]
    # Repeated customers changed today: the current row is updated on d, and an older row
    # (appended after the current rows) still holds the previous segment or KYC status.
    start, end = (_to_micros(bound) for bound in new_york_day_bounds_utc(d))
    newer = np.searchsorted(current, repeated)
    older = np.arange(len(current), len(customer))
    updated_us[newer] = rng.integers(start, end, size=repeat_count)
    updated_us[older] = np.minimum(updated_us[older], updated_us[newer] - _MICROS_PER_DAY)
    change_segment = rng.random(repeat_count) < 0.5
    segment[older] = np.where(
        change_segment,
        (segment[older] + rng.integers(1, 3, size=repeat_count)) % len(SEGMENTS),
        segment[older],
    )
    kyc_status[older] = np.where(
        change_segment, kyc_status[older], (kyc_status[older] + 1) % len(KYC_STATUSES)
    )

    order = rng.permutation(len(customer))
    customer, segment, kyc_status, updated_us = (
        column[order] for column in (customer, segment, kyc_status, updated_us)
    )
    return pa.table(
        {
            "customer_id": population.customer_ids.take(customer),
            "full_name": population.full_names.take(customer),
            "email": _messy_emails(rng, population.emails.take(customer)),
            "country": _take(_vocabulary(COUNTRIES), population.country[customer]),
            "segment": _take(_vocabulary(SEGMENTS), segment),
            "kyc_status": _take(_vocabulary(KYC_STATUSES), kyc_status),
            "created_at": _timestamps(population.created_us[customer]),
            "updated_at": _timestamps(updated_us),
        },
        schema=RAW_SCHEMAS["customers"],
    )


def _messy_emails(rng: np.random.Generator, emails: pa.Array) -> pa.Array:
    """Re-case a few emails and pad a few with ASCII spaces, as upstream systems do."""
    n = len(emails)
    casing = rng.random(n)
    emails = pc.if_else(pa.array(casing < 0.03), pc.utf8_upper(emails), emails)
    emails = pc.if_else(pa.array((casing >= 0.03) & (casing < 0.07)), pc.utf8_title(emails), emails)
    pads = _vocabulary(("", " ", "  "))
    left = pads.take(rng.choice(3, size=n, p=[0.97, 0.02, 0.01]))
    right = pads.take(rng.choice(3, size=n, p=[0.97, 0.02, 0.01]))
    return pc.binary_join_element_wise(left, emails, right, "")


# --- Arrow and file helpers -------------------------------------------------------------------


def _day_rng(seed: int, d: date, stream: int) -> np.random.Generator:
    return np.random.default_rng([seed, d.toordinal(), stream])


def _to_micros(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(microseconds=1)


def _vocabulary(values: Sequence[str]) -> pa.Array:
    return pa.array(values, pa.string())


def _take(values: pa.Array, codes: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    mask = None if valid is None else ~valid
    return values.take(pa.array(codes, pa.int64(), mask=mask))


def _format_ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    digits = pc.utf8_lpad(pc.cast(pa.array(numbers, pa.int64()), pa.string()), width, "0")
    return pc.binary_join_element_wise(prefix, digits, "")


def _null_where_invalid(values: pa.Array, valid: np.ndarray) -> pa.Array:
    return pc.if_else(pa.array(valid), values, pa.scalar(None, values.type))


def _timestamps(micros: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    mask = None if valid is None else ~valid
    return pa.array(micros, pa.timestamp("us", tz="UTC"), mask=mask)


def _partition_dir(lake: Path, table: str, d: date) -> Path:
    return lake / "raw" / table / f"business_date={d.isoformat()}"


def _write_partition(folder: Path, tables: list[pa.Table]) -> None:
    """Replace the partition's Parquet files by tables, one file each.

    Files are written under temporary names that readers ignore, then renamed into place.
    """
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob(".*.tmp"):
        stale.unlink()
    staged = []
    for index, table in enumerate(tables):
        final = folder / f"part-{index:03d}.parquet"
        temporary = folder / f".{final.name}.{os.getpid()}.tmp"
        pq.write_table(table, temporary, compression="zstd")
        staged.append((temporary, final))
    finals = {final for _, final in staged}
    for old in folder.glob("*.parquet"):
        if old not in finals:
            old.unlink()
    for temporary, final in staged:
        os.replace(temporary, final)


def _remove_partition(folder: Path) -> None:
    """Remove a partition the generator previously wrote, keeping any foreign file."""
    if not folder.is_dir():
        return
    for old in [*folder.glob("*.parquet"), *folder.glob(".*.tmp")]:
        old.unlink()
    if not any(folder.iterdir()):
        folder.rmdir()


def redeliver_corrections(lake: Path, days: Sequence[date], delta: Decimal) -> list[Path]:
    """Upstream re-sends each day's first transactions file with every amount moved by `delta`.

    The file is replaced atomically, as a corrected delivery would land; returns the files.
    """
    replaced = []
    for d in days:
        files = sorted(_partition_dir(lake, "transactions", d).glob("*.parquet"))
        if not files:
            continue
        table = pq.read_table(files[0])
        index = table.schema.get_field_index("amount")
        money = pa.decimal128(18, 2)
        moved = pc.add(table.column(index), pa.scalar(delta, money)).cast(money)
        temporary = files[0].with_name(f".{files[0].name}.{os.getpid()}.tmp")
        pq.write_table(table.set_column(index, "amount", moved), temporary, compression="zstd")
        os.replace(temporary, files[0])
        replaced.append(files[0])
    return replaced
