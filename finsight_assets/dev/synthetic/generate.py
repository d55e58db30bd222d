"""generate_raw, the entry of the deterministic, vectorised generator of the raw layer.

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
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np

from finsight_assets.dev.synthetic.dates import (
    CUSTOMERS_STREAM,
    FLAGS_STREAM,
    TRANSACTIONS_STREAM,
    day_rng,
    is_transaction_free_day,
)
from finsight_assets.dev.synthetic.partitions import (
    partition_dir,
    remove_partition,
    write_partition,
)
from finsight_assets.dev.synthetic.population import Population, build_population
from finsight_assets.dev.synthetic.snapshots import customers_table, fx_rates_table
from finsight_assets.dev.synthetic.transactions import split_into_files, transactions_table

logger = logging.getLogger(__name__)

_EXTRA_COLUMN_RATE = 0.1


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

    population = build_population(seed, population_size)
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
    lake: Path, d: date, population: Population, rows_per_day: int, seed: int
) -> GeneratedDay:
    transactions_dir = partition_dir(lake, "transactions", d)
    transacting = np.empty(0, dtype=np.int64)
    rows = files = 0
    if is_transaction_free_day(d, seed):
        remove_partition(transactions_dir)
    else:
        rng = day_rng(seed, d, TRANSACTIONS_STREAM)
        with_extra = day_rng(seed, d, FLAGS_STREAM).random() < _EXTRA_COLUMN_RATE
        table, transacting = transactions_table(rng, d, population, rows_per_day, with_extra)
        parts = split_into_files(rng, table)
        write_partition(transactions_dir, parts)
        rows, files = table.num_rows, len(parts)

    fx = fx_rates_table(seed, d)
    write_partition(partition_dir(lake, "fx_rates", d), [fx])
    snapshot = customers_table(day_rng(seed, d, CUSTOMERS_STREAM), d, population, transacting)
    write_partition(partition_dir(lake, "customers", d), [snapshot])
    return GeneratedDay(business_date=d, transactions=rows, files=files)
