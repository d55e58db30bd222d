"""One business date's reference data: its fx rates and its customer snapshot."""

from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from finsight_assets.dev.synthetic.arrays import (
    MICROS_PER_DAY,
    decimal_from_unscaled,
    take,
    timestamps,
    to_micros,
    vocabulary,
)
from finsight_assets.dev.synthetic.dates import (
    FX_PHASE_STREAM,
    FX_STREAM,
    day_rng,
    new_york_day_bounds_utc,
)
from finsight_assets.dev.synthetic.population import Population
from finsight_assets.dev.synthetic.vocabularies import (
    COUNTRIES,
    FX_BASE_RATES,
    FX_CURRENCIES,
    KYC_STATUSES,
    SEGMENTS,
)
from finsight_assets.lib.contract.tables import RAW_SCHEMAS

_USD_LISTED_RATE = 0.25
_SNAPSHOT_ABSENT_RATE = 0.005
_SNAPSHOT_REPEAT_RATE = 0.02


def fx_rates_table(seed: int, d: date) -> pa.Table:
    """Rates that drift smoothly with the date (so they depend on nothing but seed and date)."""
    phases = np.random.default_rng([seed, 0, FX_PHASE_STREAM]).uniform(
        0.0, 2 * np.pi, size=(2, len(FX_CURRENCIES))
    )
    rng = day_rng(seed, d, FX_STREAM)
    t = d.toordinal()
    log_drift = (
        0.04 * np.sin(2 * np.pi * t / 365.0 + phases[0])
        + 0.015 * np.sin(2 * np.pi * t / 47.0 + phases[1])
        + rng.normal(0.0, 0.002, size=len(FX_CURRENCIES))
    )
    units = np.rint(FX_BASE_RATES * np.exp(log_drift) * 1e8).astype(np.int64)
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


def customers_table(
    rng: np.random.Generator, d: date, population: Population, transacting: np.ndarray
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
    start, end = (to_micros(bound) for bound in new_york_day_bounds_utc(d))
    newer = np.searchsorted(current, repeated)
    older = np.arange(len(current), len(customer))
    updated_us[newer] = rng.integers(start, end, size=repeat_count)
    updated_us[older] = np.minimum(updated_us[older], updated_us[newer] - MICROS_PER_DAY)
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
            "country": take(vocabulary(COUNTRIES), population.country[customer]),
            "segment": take(vocabulary(SEGMENTS), segment),
            "kyc_status": take(vocabulary(KYC_STATUSES), kyc_status),
            "created_at": timestamps(population.created_us[customer]),
            "updated_at": timestamps(updated_us),
        },
        schema=RAW_SCHEMAS["customers"],
    )


def _messy_emails(rng: np.random.Generator, emails: pa.Array) -> pa.Array:
    """Re-case a few emails and pad a few with ASCII spaces, as upstream systems do."""
    n = len(emails)
    casing = rng.random(n)
    emails = pc.if_else(pa.array(casing < 0.03), pc.utf8_upper(emails), emails)
    emails = pc.if_else(pa.array((casing >= 0.03) & (casing < 0.07)), pc.utf8_title(emails), emails)
    pads = vocabulary(("", " ", "  "))
    left = pads.take(rng.choice(3, size=n, p=[0.97, 0.02, 0.01]))
    right = pads.take(rng.choice(3, size=n, p=[0.97, 0.02, 0.01]))
    return pc.binary_join_element_wise(left, emails, right, "")
