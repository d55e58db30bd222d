"""One business date's raw transactions, with their planted defects and re-deliveries."""

from datetime import date, timedelta

import numpy as np
import pyarrow as pa

from finsight_assets.dev.synthetic.arrays import (
    MICROS_PER_SECOND,
    decimal_from_unscaled,
    format_ids,
    null_where_invalid,
    take,
    timestamps,
    to_micros,
    vocabulary,
)
from finsight_assets.dev.synthetic.dates import new_york_day_bounds_utc
from finsight_assets.dev.synthetic.population import Population
from finsight_assets.dev.synthetic.vocabularies import (
    CHANNELS,
    EXTRA_TRANSACTION_COLUMN,
    FX_BASE_RATES,
    MERCHANT_CATEGORIES,
    TRANSACTION_CURRENCIES,
    TRANSACTION_EVENT_TYPES,
)
from finsight_assets.lib.contract.tables import (
    EVENT_TYPES,
    RAW_SCHEMAS,
    REQUIRED_TRANSACTION_FIELDS,
)

_EVENT_TYPE_WEIGHTS = (0.70, 0.05, 0.10, 0.08, 0.07)
# Typical size of each event type in USD cents (median of a lognormal) and its spread.
_MEDIAN_USD_CENTS = np.array([3_500.0, 3_000.0, 150_000.0, 20_000.0, 500.0])
_AMOUNT_SIGMA = np.array([1.0, 0.9, 0.9, 0.8, 0.5])
_CURRENCY_WEIGHTS = (0.70, 0.10, 0.06, 0.06, 0.04, 0.04)
_APPROX_USD_RATE = np.array([1.0, *FX_BASE_RATES, 1.0, 1.0, 1.0])
# JPY has no minor unit: its amounts are whole yen (a multiple of 100 hundredths).
_MINOR_UNIT = np.array([1, 1, 1, 1, 100, 1, 1, 1, 1], dtype=np.int64)
_MAX_CENTS = 10**12

_DEFECT_RATE = 0.003  # share of rows per rejection reason
_REDELIVERY_RATE = 0.01


def transactions_table(
    rng: np.random.Generator, d: date, population: Population, rows_per_day: int, extra: bool
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


def split_into_files(rng: np.random.Generator, table: pa.Table) -> list[pa.Table]:
    count = min(int(rng.integers(1, 4)), table.num_rows)
    cuts = np.sort(rng.choice(np.arange(1, table.num_rows), size=count - 1, replace=False))
    bounds = [0, *cuts.tolist(), table.num_rows]
    return [table.slice(lo, hi - lo) for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)]


def _clean_rows(
    rng: np.random.Generator, d: date, population: Population, n: int
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
    start, end = (to_micros(bound) for bound in new_york_day_bounds_utc(d))
    span = end - start
    fraction = np.where(rng.random(n) < 0.8, rng.beta(2.5, 2.0, size=n), rng.random(n))
    return start + np.minimum((fraction * span).astype(np.int64), span - 1)


def _ingestion_lag_us(rng: np.random.Generator, n: int) -> np.ndarray:
    seconds = np.clip(rng.lognormal(np.log(45.0), 1.2, size=n), 1.0, 6 * 3600.0)
    return (seconds * MICROS_PER_SECOND).astype(np.int64)


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
    rows["ingested_us"][corrected] += (delay_s * MICROS_PER_SECOND).astype(np.int64)
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
    population: Population,
    extra: bool,
) -> pa.Table:
    stamp = f"{d:%Y%m%d}"
    columns = {
        "event_id": null_where_invalid(
            format_ids(f"EV{stamp}-", rows["seq"], 7), valid["event_id"]
        ),
        "transaction_id": null_where_invalid(
            format_ids(f"TX{stamp}-", rows["txn_seq"], 7), valid["transaction_id"]
        ),
        "account_id": take(population.account_ids, rows["account"], valid["account_id"]),
        "customer_id": take(population.customer_ids, rows["customer"], valid["customer_id"]),
        "event_type": take(
            vocabulary(TRANSACTION_EVENT_TYPES), rows["event_type"], valid["event_type"]
        ),
        "amount": decimal_from_unscaled(rows["cents"], 2, valid["amount"]),
        "currency": take(vocabulary(TRANSACTION_CURRENCIES), rows["currency"], valid["currency"]),
        "merchant_category": take(
            vocabulary(MERCHANT_CATEGORIES), rows["merchant"], valid["merchant_category"]
        ),
        "event_ts": timestamps(rows["event_us"], valid["event_ts"]),
        "ingested_at": timestamps(rows["ingested_us"]),
    }
    schema = RAW_SCHEMAS["transactions"]
    if extra:
        columns[EXTRA_TRANSACTION_COLUMN] = take(vocabulary(CHANNELS), rows["channel"])
        schema = schema.append(pa.field(EXTRA_TRANSACTION_COLUMN, pa.string()))
    return pa.table(columns, schema=schema)
