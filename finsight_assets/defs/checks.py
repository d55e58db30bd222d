"""Audits as Dagster asset checks: specs from the check registry, one evaluation per partition.

A range run's `AssetCheckResult` carries no partition, so the UI would show every day of a
batched backfill but one as skipped. Each audit's verdict on each business date is logged
instead as that partition's `AssetCheckEvaluation`, with that day's figures, judging that day's
materialization; the assets are subsettable, so Dagster does not also wait for one result per
check.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

import dagster as dg

# The type of the public `AssetCheckEvaluation`'s documented `target_materialization_data`
# argument, which Dagster does not export at its top level. Without it a logged evaluation
# judges no materialization, and the UI's partition view shows the day as not checked.
from dagster._core.definitions.asset_checks.asset_check_evaluation import (
    AssetCheckEvaluationTargetMaterializationData,
)

from finsight_assets.defs.keys import asset_key
from finsight_assets.lib.contract.tables import TableSpec
from finsight_assets.lib.wap.checks import checks_of, verify_declared
from finsight_assets.lib.wap.model import AuditResult, CheckRecord

# Every silver and gold day's verdict on whether its latest materialization is what readers
# see: fails (a warning, never blocking) on a day held for approval or with nothing live.
LIVE_CHECK = "live"
LIVE_DESCRIPTION = (
    "Whether the day's latest materialization is live: fails while a backfill holds it for "
    "approval, or when nothing is live for the day; passes once a run or an approval "
    "publishes it."
)


def check_specs(
    table: TableSpec, partitions_def: dg.PartitionsDefinition
) -> list[dg.AssetCheckSpec]:
    """The table's declared checks as asset check specs (name, blocking, description), and
    the `live` check."""
    return [
        *(
            dg.AssetCheckSpec(
                check.name,
                asset=asset_key(table),
                description=check.description,
                blocking=check.blocking,
                partitions_def=partitions_def,
            )
            for check in checks_of(table.qualified_name)
        ),
        dg.AssetCheckSpec(
            LIVE_CHECK,
            asset=asset_key(table),
            description=LIVE_DESCRIPTION,
            blocking=False,
            partitions_def=partitions_def,
        ),
    ]


def _number(value: Any) -> int | float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value
    if isinstance(value, Decimal | str):
        try:
            return float(Decimal(str(value)))
        except InvalidOperation:
            return None
    return None


def day_figures(figures: Mapping[str, Any], business_date: date) -> dict[str, int | float]:
    """The day's figures as numbers: plain numbers, and of a figure kept by date (`{date: n}`)
    the day's own (0 when the day is not listed)."""
    found: dict[str, int | float] = {}
    day = business_date.isoformat()
    for name, value in figures.items():
        if isinstance(value, Mapping):
            if all(_is_date(k) for k in value):
                number = _number(value.get(day, 0))
                if number is not None:
                    found[name] = number
        else:
            number = _number(value)
            if number is not None:
                found[name] = number
    return found


def _is_date(text: Any) -> bool:
    try:
        date.fromisoformat(str(text))
    except ValueError:
        return False
    return True


def day_summary(business_date: date, figures: Mapping[str, int | float], summary: str) -> str:
    """`2024-01-03: raw 20,011, valid 20,011, rejected 0, staged 20,011`; the audit's summary
    when it measured no number."""
    if not figures:
        return f"{business_date}: {summary}"
    return f"{business_date}: " + ", ".join(f"{k} {v:,}" for k, v in figures.items())


def target_of(record: dg.EventLogRecord) -> AssetCheckEvaluationTargetMaterializationData:
    """What an evaluation judges: the materialization `record` logged."""
    return AssetCheckEvaluationTargetMaterializationData(
        storage_id=record.storage_id, run_id=record.run_id, timestamp=record.timestamp
    )


def _evaluation(
    table: TableSpec,
    check_name: str,
    passed: bool,
    blocking: bool,
    business_date: date,
    summary: str,
    figures: Mapping[str, Any],
    judged: dg.EventLogRecord | None,
) -> dg.AssetCheckEvaluation:
    numbers = day_figures(figures, business_date)
    return dg.AssetCheckEvaluation(
        asset_key=asset_key(table),
        check_name=check_name,
        passed=passed,
        partition=business_date.isoformat(),
        target_materialization_data=target_of(judged) if judged is not None else None,
        blocking=blocking,
        severity=dg.AssetCheckSeverity.ERROR if blocking else dg.AssetCheckSeverity.WARN,
        description=day_summary(business_date, numbers, summary),
        metadata={
            # Each figure its own number, so the check's plot shows it day by day.
            **{
                name: dg.MetadataValue.int(n) if isinstance(n, int) else dg.MetadataValue.float(n)
                for name, n in numbers.items()
            },
            "summary": summary,
            "figures": dg.MetadataValue.json(json.loads(json.dumps(figures, default=str))),
        },
    )


def check_evaluations(
    table: TableSpec,
    results: Sequence[AuditResult],
    dates: Sequence[date],
    judged: Mapping[date, dg.EventLogRecord] | None = None,
) -> list[dg.AssetCheckEvaluation]:
    """Each audit's verdict on each of `dates`, tied to the materialization of that day it
    judged (`judged`; none when nothing was published); the audits must be the table's
    declared checks."""
    if results:
        verify_declared(table.qualified_name, results)
    judged = judged or {}
    return [
        _evaluation(
            table,
            result.name,
            result.passed_on(d),
            result.blocking,
            d,
            result.summary,
            result.figures_on(d),
            judged.get(d),
        )
        for result in results
        for d in sorted(dates)
    ]


def recorded_evaluations(
    table: TableSpec, records: Sequence[CheckRecord], judged: dg.EventLogRecord
) -> list[dg.AssetCheckEvaluation]:
    """The verdicts recorded in the audit schema for one partition version, judging the
    materialization that reported it live (a held version published on approval, a version
    a rollback restored)."""
    return [
        _evaluation(
            table,
            r.check_name,
            bool(r.passed),
            bool(r.blocking),
            r.business_date,
            r.detail,
            json.loads(r.metadata or "{}"),
            judged,
        )
        for r in records
    ]


def not_evaluated(
    table: TableSpec, dates: Sequence[date], reason: str
) -> list[dg.AssetCheckEvaluation]:
    """Evaluations for checks that had nothing to check (a dry run's gold without silver): the
    description says none was evaluated and why."""
    return [
        dg.AssetCheckEvaluation(
            asset_key=asset_key(table),
            check_name=check.name,
            passed=True,
            partition=d.isoformat(),
            severity=dg.AssetCheckSeverity.WARN,
            description=f"not evaluated: {reason}",
            metadata={"evaluated": False, "reason": reason},
        )
        for check in checks_of(table.qualified_name)
        for d in sorted(dates)
    ]
