"""Gold end to end: SQL in the warehouse from the published silver tables, write-audit-publish."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from datetime import date, timedelta

from finsight_assets.lib.contract import tables as contract
from finsight_assets.lib.contract.run_tags import DRY_RUN
from finsight_assets.lib.engines.warehouse import Warehouse
from finsight_assets.lib.layers import gold_sql
from finsight_assets.lib.layers.raw_files import combine_versions
from finsight_assets.lib.wap import audit_schema, publish
from finsight_assets.lib.wap.model import LayerResult, PublishError, RunInfo


class MissingInput(PublishError):
    """What a gold partition is computed from is not published."""


def _silver_input_versions(
    warehouse: Warehouse, table: contract.TableSpec, dates: Sequence[date]
) -> dict[date, str]:
    found = {
        p.business_date: p.input_version
        for p in audit_schema.published_partitions(warehouse, table.qualified_name, dates)
    }
    missing = [d.isoformat() for d in dates if d not in found]
    if missing:
        raise MissingInput(
            f"{table.qualified_name} is not published for {', '.join(missing)}; "
            "materialize silver for those dates first"
        )
    return found


def _input_versions(
    warehouse: Warehouse, sources: Sequence[contract.TableSpec], dates: Sequence[date]
) -> dict[date, str]:
    per_source = [_silver_input_versions(warehouse, source, dates) for source in sources]
    return {d: combine_versions(*(versions[d] for versions in per_source)) for d in dates}


def dry_run_tolerant(build: Callable[..., LayerResult]) -> Callable[..., LayerResult]:
    """In a dry run, gold reads what silver has published; where silver is missing (the dry run
    published none of its own), the gold table is skipped and says so, instead of failing."""

    @functools.wraps(build)
    def wrapper(warehouse: Warehouse, run: RunInfo, *args, **kwargs) -> LayerResult:
        try:
            return build(warehouse, run, *args, **kwargs)
        except MissingInput as error:
            if run.mode != DRY_RUN:
                raise
            return LayerResult(skipped=str(error))

    return wrapper


def _publish_gold(
    warehouse: Warehouse,
    table: contract.TableSpec,
    run: RunInfo,
    code_version: str,
    dates: Sequence[date],
    input_versions: dict[date, str],
    candidate_sql: str,
    predecessor: tuple[date, str | None] | None = None,
    rolls_forward: bool = False,
) -> LayerResult:
    results, versions = publish.write_audit_publish(
        warehouse,
        table,
        run,
        code_version,
        input_versions,
        candidate_sql,
        predecessor=predecessor,
        rolls_forward=rolls_forward,
    )
    return LayerResult(
        audits={table.qualified_name: results},
        versions={table.qualified_name: versions} if versions else {},
    )


@dry_run_tolerant
def build_daily_customer_summary(
    warehouse: Warehouse, run: RunInfo, dates: Sequence[date], code_version: str
) -> LayerResult:
    """gold.daily_customer_summary for the given dates."""
    return _publish_gold(
        warehouse,
        contract.GOLD_DAILY_CUSTOMER_SUMMARY,
        run,
        code_version,
        dates,
        _input_versions(warehouse, [contract.SILVER_TRANSACTIONS], dates),
        gold_sql.daily_customer_summary(dates),
    )


@dry_run_tolerant
def build_segment_daily_report(
    warehouse: Warehouse, run: RunInfo, dates: Sequence[date], code_version: str
) -> LayerResult:
    """gold.segment_daily_report for the given dates."""
    return _publish_gold(
        warehouse,
        contract.GOLD_SEGMENT_DAILY_REPORT,
        run,
        code_version,
        dates,
        _input_versions(
            warehouse, [contract.SILVER_TRANSACTIONS, contract.SILVER_CUSTOMERS], dates
        ),
        gold_sql.segment_daily_report(dates),
    )


@dry_run_tolerant
def build_account_daily_balance(
    warehouse: Warehouse,
    run: RunInfo,
    dates: Sequence[date],
    code_version: str,
    first_business_date: date,
) -> LayerResult:
    """gold.account_daily_balance from the first given date, rolled forward to the latest day.

    It opens from the day before (which must be published, unless it is the first business
    date) and, since every later day depends on it, also recomputes every published day after
    the given range, in the same transaction. Publishing refuses (and nothing changes) if the
    opening day or the latest day moved while this was computed.
    """
    table = contract.GOLD_ACCOUNT_DAILY_BALANCE
    start = min(dates)
    previous_day = start - timedelta(days=1)
    predecessor: tuple[date, str | None] | None = None
    if start > first_business_date:
        previous = audit_schema.current_versions(warehouse, table.qualified_name, [previous_day])
        if previous_day not in previous:
            raise MissingInput(
                f"{table.qualified_name} is not published for {previous_day}, the opening "
                f"balances of {start}; materialize from {previous_day} (or earlier) first"
            )
        predecessor = (previous_day, previous[previous_day])
    latest = publish.latest_published_date(warehouse, table.qualified_name)
    last = max(max(dates), latest) if latest else max(dates)
    chain_dates = [start + timedelta(days=i) for i in range((last - start).days + 1)]
    silver_versions = _input_versions(warehouse, [contract.SILVER_TRANSACTIONS], chain_dates)
    chain = predecessor[1] if predecessor else "start"
    input_versions = {d: combine_versions(silver_versions[d], chain or "") for d in chain_dates}
    return _publish_gold(
        warehouse,
        table,
        run,
        code_version,
        chain_dates,
        input_versions,
        gold_sql.account_daily_balance(chain_dates),
        predecessor=predecessor,
        rolls_forward=True,
    )
