"""What a silver computation reads, before Spark: each day's raw partitions (a broken one fails
its day, naming the file), the day's USD rates (read in the driver), and the input version a
silver partition is computed from."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal

import pyarrow as pa
import pyarrow.parquet as pq

from finsight_assets.lib.engines.lake import Lake
from finsight_assets.lib.layers.raw_files import (
    RawFileError,
    RawPartition,
    combine_versions,
    data_version,
    inspect_partition,
)
from finsight_assets.lib.tables.registry import raw_tables_of


def inspect_days(
    lake: Lake, table: str, dates: Sequence[date], failed: dict[date, str]
) -> dict[date, RawPartition]:
    """Each day's raw partition of a table; a day whose files break the contract goes to
    `failed` (a day already there is skipped)."""
    partitions = {}
    for d in dates:
        if d in failed:
            continue
        try:
            partitions[d] = inspect_partition(lake, table, d)
        except RawFileError as error:
            failed[d] = f"raw/{table}: {error}"
    return partitions


def read_usd_rates(lake: Lake, partition: RawPartition) -> dict[str, Decimal]:
    """A day's listed rates (a few rows: read in the driver). A rate that is null, zero or
    negative, a row without a currency, or one currency listed at two rates fails the day,
    naming the file (identical repeated rows count once)."""
    rates: dict[str, Decimal] = {}
    for file in partition.files:
        try:
            with lake.open_input(file.uri) as handle:
                # ParquetFile, not read_table: that goes through pyarrow.dataset, which
                # imports pandas (a third of a second of every silver run).
                table = pq.ParquetFile(handle).read(columns=["currency", "usd_rate"])
            listed = list(
                zip(
                    table.column("currency").to_pylist(),
                    table.column("usd_rate").to_pylist(),
                    strict=True,
                )
            )
        except (OSError, pa.ArrowException, UnicodeDecodeError) as error:
            raise RawFileError(file.uri, f"unreadable fx_rates file ({error})") from error
        for currency, rate in listed:
            if currency is None:
                raise RawFileError(
                    file.uri, f"a rate of {_plain(rate)} is listed without a currency"
                )
            if rate is None or rate <= 0:
                raise RawFileError(
                    file.uri, f"usd_rate for {currency} is {_plain(rate)}: a rate must be positive"
                )
            if currency in rates and rates[currency] != rate:
                raise RawFileError(
                    file.uri,
                    f"conflicting usd_rate for {currency}: "
                    f"{_plain(rates[currency])} and {_plain(rate)}",
                )
            rates[currency] = rate
    return rates


def _plain(rate: Decimal | None) -> str:
    """A listed rate as a person writes it (`0`, `-1.5`, `null`), not as decimal(18,8) prints
    (`0E-8`, `-1.50000000`)."""
    return "null" if rate is None else format(rate.normalize(), "f")


def usd_rates_of(
    lake: Lake, partitions: Mapping[date, RawPartition], rates_table: str, failed: dict[date, str]
) -> dict[date, dict[str, Decimal]]:
    """Each day's USD rates; a day whose rates break the contract goes to `failed`."""
    rates = {}
    for d, partition in partitions.items():
        if d in failed:
            continue
        try:
            rates[d] = read_usd_rates(lake, partition)
        except RawFileError as error:
            failed[d] = f"raw/{rates_table}: {error}"
    return rates


def combined_input_version(raw_versions: Sequence[str]) -> str:
    """A silver partition's input version from its raw tables' data versions, in `raw_tables`
    order (a single table's version is its own)."""
    return combine_versions(*raw_versions) if len(raw_versions) > 1 else raw_versions[0]


def input_version(lake: Lake, raw_tables: Sequence[str], business_date: date) -> str:
    """The version of what a silver partition is computed from, as its raw files are now."""
    return combined_input_version(
        [data_version(lake.raw_files(table, business_date)) for table in raw_tables]
    )


def input_now(lake: Lake, table_name: str, business_date: date) -> str | None:
    """The input version a silver table's partition would be computed from now (None for a
    table not computed from raw files)."""
    raw_tables = raw_tables_of(table_name)
    return input_version(lake, raw_tables, business_date) if raw_tables else None


def changed_inputs(
    lake: Lake, raw_tables: Sequence[str], computed_from: Mapping[date, str]
) -> dict[date, str]:
    """The dates whose raw input is no longer the one they were computed from, with the new
    version: a delivery landed while they were computed."""
    now = {d: input_version(lake, raw_tables, d) for d in computed_from}
    return {d: version for d, version in now.items() if version != computed_from[d]}
