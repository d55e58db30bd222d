"""The fixed customers and accounts of a (seed, size), shared by every business date."""

from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from finsight_assets.dev.synthetic.arrays import (
    MICROS_PER_DAY,
    format_ids,
    to_micros,
    vocabulary,
)
from finsight_assets.dev.synthetic.dates import POPULATION_STREAM
from finsight_assets.dev.synthetic.vocabularies import COUNTRIES, KYC_STATUSES, SEGMENTS

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


@dataclass(frozen=True)
class Population:
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


def build_population(seed: int, size: int) -> Population:
    rng = np.random.default_rng([seed, 0, POPULATION_STREAM])
    numbers = np.arange(1, size + 1)
    first = vocabulary(_FIRST_NAMES).take(rng.integers(len(_FIRST_NAMES), size=size))
    last = vocabulary(_LAST_NAMES).take(rng.integers(len(_LAST_NAMES), size=size))
    domain = vocabulary(_EMAIL_DOMAINS).take(rng.integers(len(_EMAIL_DOMAINS), size=size))
    local_part = pc.binary_join_element_wise(
        pc.utf8_lower(first), ".", pc.replace_substring(pc.utf8_lower(last), "'", ""), ""
    )
    emails = pc.binary_join_element_wise(
        local_part, pc.cast(pa.array(numbers), pa.string()), "@", domain, ""
    )

    created_from = to_micros(datetime(2018, 1, 1, tzinfo=UTC))
    created_to = to_micros(datetime(2024, 6, 30, tzinfo=UTC))
    created_us = rng.integers(created_from, created_to, size=size)
    updated_us = created_us + rng.integers(0, 180 * MICROS_PER_DAY, size=size)

    # Zipf-Mandelbrot weights over a random ranking: about 20% of the customers make 75-80% of
    # the transactions, while the offset keeps the very top from dominating a large population.
    ranks = rng.permutation(size) + 1
    weights = (ranks + max(5.0, size / 100)) ** -1.3
    account_count = rng.choice(np.array([1, 2, 3]), size=size, p=[0.6, 0.3, 0.1])
    first_account = np.cumsum(account_count) - account_count
    return Population(
        customer_ids=format_ids("C", numbers, 6),
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
        account_ids=format_ids("A", np.arange(1, int(account_count.sum()) + 1), 7),
    )
