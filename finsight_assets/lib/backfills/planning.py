"""Planning a backfill: its scope, the inputs and code it is planned on, and an estimate."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pyarrow as pa

from finsight_assets.lib.backfills.manifests import AssetRange, Estimate
from finsight_assets.lib.contract.run_tags import BACKFILL_LANE, DAILY_LANE
from finsight_assets.lib.contract.tables import RAW_TABLES
from finsight_assets.lib.engines.emr_serverless import EMR_SPARK_PARAMETERS, JOB_SQL_CONF
from finsight_assets.lib.engines.lake import Lake
from finsight_assets.lib.engines.spark_config import BACKFILL_SPARK_CONFIG, LOCAL_SPARK_CONFIG
from finsight_assets.lib.engines.warehouse import Warehouse
from finsight_assets.lib.layers.raw_files import combine_versions, data_version, read_footer
from finsight_assets.lib.settings import Settings
from finsight_assets.lib.tables.registry import RAW_ROW_TABLES, SELF_DEPENDENT, downstream_closure
from finsight_assets.lib.wap.versions import published_partitions

# When no run has been measured yet: a conservative local rate.
DEFAULT_ROWS_PER_SECOND = 50_000.0
# A run's fixed cost (process, Spark session, Dagster bookkeeping) on top of its rows.
RUN_OVERHEAD_SECONDS = 20.0


@dataclass(frozen=True)
class Prices:
    """What compute costs: EMR Serverless list prices (us-east-1) by default; configurable."""

    vcpu_hour_usd: Decimal = Decimal("0.052624")
    gb_hour_usd: Decimal = Decimal("0.0057785")
    vcpus: int = 4
    gb_per_vcpu: int = 4


def days_between(start: date, end: date) -> list[date]:
    if end < start:
        raise ValueError(f"the range ends ({end}) before it starts ({start})")
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def contiguous_runs(dates: Iterable[date]) -> list[tuple[date, date]]:
    """Sorted dates as (first, last) spans of consecutive days."""
    spans: list[tuple[date, date]] = []
    for d in sorted(set(dates)):
        if spans and spans[-1][1] + timedelta(days=1) == d:
            spans[-1] = (spans[-1][0], d)
        else:
            spans.append((d, d))
    return spans


def scope(
    selected: Iterable[str],
    dates: Mapping[str, Sequence[date]],
    latest_published: Mapping[str, date],
) -> tuple[AssetRange, ...]:
    """The partitions a backfill changes: the requested ones and their downstream impact.

    `dates` gives, per selected asset, the business dates requested for it. A self-dependent
    table (the balance chain) is rolled forward from its earliest changed date to its latest
    published partition, since every later day depends on it.
    """
    selected = list(selected)
    requested: dict[str, set[date]] = {}
    for asset in downstream_closure(selected):
        wanted: set[date] = set()
        for source in selected:
            if source == asset or asset in downstream_closure([source]):
                wanted |= set(dates.get(source, ()))
        requested[asset] = wanted
    ranges: list[AssetRange] = []
    for asset, wanted in requested.items():
        if not wanted:
            continue
        if asset in SELF_DEPENDENT:
            last = max(max(wanted), latest_published.get(asset, max(wanted)))
            wanted = set(days_between(min(wanted), last))
        ranges.extend(AssetRange(asset, first, last) for first, last in contiguous_runs(wanted))
    return tuple(ranges)


def raw_input_versions(lake: Lake, dates: Iterable[date]) -> dict[str, dict[str, str]]:
    """Per business date, the data version of each raw table's partition."""
    return {
        d.isoformat(): {table: data_version(lake.raw_files(table, d)) for table in RAW_TABLES}
        for d in sorted(set(dates))
    }


def fx_version(input_versions: Mapping[str, Mapping[str, str]]) -> str:
    return combine_versions(*(input_versions[d]["fx_rates"] for d in sorted(input_versions)))


def pipeline_config(settings: Settings) -> dict[str, object]:
    """What a backfill's rows depend on besides code and inputs, in the environment it runs in:
    hashed into its manifest."""
    if settings.env == "prod":
        spark: dict[str, object] = {
            f"spark_{lane}": {**EMR_SPARK_PARAMETERS[lane], **JOB_SQL_CONF}
            for lane in (DAILY_LANE, BACKFILL_LANE)
        }
    else:
        spark = {
            "spark_daily": dict(LOCAL_SPARK_CONFIG),
            "spark_backfill": dict(BACKFILL_SPARK_CONFIG),
        }
    return {
        "env": settings.env,
        "start_date": settings.start_date.isoformat(),
        **spark,
        "days_per_run": settings.backfill_days_per_run,
    }


def config_hash(config: Mapping[str, object]) -> str:
    return hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()[:16]


def estimate(
    lake: Lake,
    dates: Sequence[date],
    rows_per_second: float | None,
    runs: int,
    prices: Prices = Prices(),
) -> Estimate:
    """Rows and bytes from the raw files' Parquet footers; time and cost from measured speed."""
    raw_rows = 0
    raw_bytes = 0
    unreadable = 0
    for d in dates:
        for table in RAW_ROW_TABLES:
            for file in lake.raw_files(table, d):
                raw_bytes += file.size
                try:
                    raw_rows += read_footer(lake, file.uri).num_rows
                except (OSError, pa.ArrowException):
                    # The run will fail that partition and name the file; the plan still stands.
                    unreadable += 1
    rate = rows_per_second or DEFAULT_ROWS_PER_SECOND
    seconds = raw_rows / rate + RUN_OVERHEAD_SECONDS * max(runs, 1)
    vcpu_hours = Decimal(str(seconds)) / Decimal(3600) * prices.vcpus
    cost = vcpu_hours * (prices.vcpu_hour_usd + prices.gb_hour_usd * prices.gb_per_vcpu)
    return Estimate(
        partitions=len(dates),
        raw_rows=raw_rows,
        raw_bytes=raw_bytes,
        seconds=round(seconds, 1),
        vcpu_hours=float(round(vcpu_hours, 4)),
        cost_usd=str(cost.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)),
        rows_per_second=round(rate, 1),
        basis=("measured on earlier runs" if rows_per_second else "default rate (no runs yet)")
        + (f"; {unreadable} unreadable raw file(s) not counted" if unreadable else ""),
    )


def stale_partitions(
    warehouse: Warehouse, code_versions: Mapping[str, str]
) -> dict[str, list[date]]:
    """Per table, the published partitions written by another code version than today's."""
    stale: dict[str, list[date]] = {}
    for p in published_partitions(warehouse):
        if p.table_name in code_versions and code_versions[p.table_name] != p.code_version:
            stale.setdefault(p.table_name, []).append(p.business_date)
    return stale
