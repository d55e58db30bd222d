"""The evidence of one backfill as a Markdown report.

The same evidence always renders the same text: nothing here reads the clock or the environment,
partitions are sorted by table then date, and money figures stay the exact decimal text they were
given (never floats).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from finsight_assets.lib.backfills.report.format import (
    NONE,
    cell,
    count,
    markdown_table,
    moment,
    number,
    one_line,
    partition_now,
    short_id,
    sorted_partitions,
    table_names,
)
from finsight_assets.lib.backfills.report.model import (
    BackfillEvidence,
    CheckEvidence,
    PartitionEvidence,
    RunTiming,
)
from finsight_assets.lib.backfills.report.overview import (
    estimate_section,
    roll_forward_section,
    scope_section,
    summary_section,
)


def _rows_cell(before: int | None, after: int | None) -> str:
    text = f"{count(before)} → {count(after)}"
    if before is not None and after is not None:
        return f"{text} ({after - before:+,})"
    if before is None and after is not None:
        return f"{text} (new)"
    return text


def _total_change_cell(total_change: Mapping[str, str]) -> str:
    if not total_change:
        return NONE
    return "; ".join(
        f"{cell(column)}: {cell(total_change[column])}" for column in sorted(total_change)
    )


def _failed_label(check: CheckEvidence) -> str:
    return f"**{cell(check.name)}**" + ("" if check.blocking else " (warn)")


def _checks_cell(checks: Sequence[CheckEvidence]) -> str:
    if not checks:
        return NONE
    passed = sum(1 for c in checks if c.passed)
    failed = [_failed_label(c) for c in checks if not c.passed]
    return f"{passed}/{len(checks)}" + (": " + ", ".join(failed) if failed else "")


def _partition_row(p: PartitionEvidence) -> tuple[str, ...]:
    return (
        p.business_date.isoformat(),
        _rows_cell(p.rows_before, p.rows_after),
        count(p.added),
        count(p.removed),
        count(p.changed),
        _total_change_cell(p.total_change),
        _checks_cell(p.checks),
        short_id(p.version_id) + (" (held)" if p.held else ""),
        short_id(p.replaced_version_id),
        cell(partition_now(p)),
    )


_PARTITION_HEADER = (
    "business date",
    "rows before → after",
    "added",
    "removed",
    "changed",
    "total change",
    "checks",
    "version",
    "replaces",
    "now",
)


def _partitions_section(partitions: Sequence[PartitionEvidence]) -> list[str]:
    lines = ["## Partitions", ""]
    if not partitions:
        return [*lines, "_No partitions were published._"]
    ordered = sorted_partitions(partitions)
    for table in table_names(ordered):
        rows = [_partition_row(p) for p in ordered if p.table == table]
        lines.extend([f"### {table}", "", *markdown_table(_PARTITION_HEADER, rows), ""])
    return lines[:-1]


def _checks_section(partitions: Sequence[PartitionEvidence]) -> list[str]:
    lines = ["## Checks", ""]
    ordered = sorted_partitions(partitions)
    total = sum(len(p.checks) for p in ordered)
    failed = [
        f"- {p.table} {p.business_date.isoformat()}: **{one_line(c.name)}** "
        f"({'blocking' if c.blocking else 'warning'}) — {one_line(c.summary)}"
        for p in ordered
        for c in p.checks
        if not c.passed
    ]
    if total == 0:
        return [*lines, "_No checks were recorded._"]
    if not failed:
        return [*lines, f"All {total:,} checks passed."]
    return [*lines, f"{len(failed):,} of {total:,} checks failed:", "", *failed]


def _runs_section(runs: Sequence[RunTiming]) -> list[str]:
    lines = ["## Runs", ""]
    if not runs:
        return [*lines, "_No runs were launched._"]
    rows = [
        (
            short_id(r.run_id),
            cell(r.status),
            moment(r.started_at),
            moment(r.ended_at),
            number(r.seconds),
            f"{r.partitions:,}",
        )
        for r in runs
    ]
    return lines + markdown_table(("run", "status", "start", "end", "seconds", "partitions"), rows)


def _event_value(value: Any) -> str:
    if isinstance(value, Mapping | list | tuple):
        return json.dumps(value, sort_keys=True, default=str)
    return one_line(value)


def _events_section(events: Sequence[Mapping[str, Any]]) -> list[str]:
    lines = ["## Timeline", ""]
    if not events:
        return [*lines, "_No events were recorded._"]
    for event in events:
        fields_text = ", ".join(
            f"{key}={_event_value(event[key])}"
            for key in sorted(event, key=str)
            if key not in ("event", "at")
        )
        line = f"- {one_line(event.get('at'))} **{one_line(event.get('event'))}**"
        lines.append(line + (f" — {fields_text}" if fields_text else ""))
    return lines


def render_markdown(evidence: BackfillEvidence, chart_name: str | None) -> str:
    """The whole report as Markdown; `chart_name` (a path relative to the report) is embedded.

    Partitions are sorted by table then business date; runs and events keep the order given.
    Money changes are printed exactly as the decimal text they arrive as.
    """
    manifest_id = one_line(evidence.manifest.id)
    sections = [
        [f"# Backfill {manifest_id}"],
        summary_section(evidence),
        scope_section(evidence.manifest),
        estimate_section(evidence),
        roll_forward_section(evidence),
        _partitions_section(evidence.partitions),
        _checks_section(evidence.partitions),
        _runs_section(evidence.runs),
        _events_section(evidence.events),
    ]
    if chart_name:
        sections.insert(2, ["## Chart", "", f"![Backfill {manifest_id} chart]({chart_name})"])
    return "\n\n".join("\n".join(section) for section in sections) + "\n"
