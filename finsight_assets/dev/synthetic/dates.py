"""Business dates: their New York bounds, their random streams, the days without transactions."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from finsight_assets.lib.contract.tables import BUSINESS_TIME_ZONE

# Random stream tags: each purpose draws from its own stream so that changing one does not
# shift the others. Date ordinals start at 1, so ordinal 0 marks date-independent streams.
POPULATION_STREAM = 1
FX_PHASE_STREAM = 2
TRANSACTIONS_STREAM = 3
FX_STREAM = 4
CUSTOMERS_STREAM = 5
FLAGS_STREAM = 6
SKIP_STREAM = 7

_SKIP_BLOCK_DAYS = 30


def day_rng(seed: int, d: date, stream: int) -> np.random.Generator:
    return np.random.default_rng([seed, d.toordinal(), stream])


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
    skipped = np.random.default_rng([seed, block, SKIP_STREAM]).integers(_SKIP_BLOCK_DAYS)
    return position == int(skipped)
