"""The evidence of one backfill as a Markdown report.

The same evidence always renders the same text: nothing here reads the clock or the environment,
partitions are sorted by table then date, and money figures stay the exact decimal text they were
given (never floats).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import fields
from decimal import Decimal
from typing import Any

from finsight_assets.lib.backfills.manifests import Estimate, Manifest
from finsight_assets.lib.backfills.report.format import (
    NONE,
    cell,
    count,
    markdown_table,
    moment,
    number,
    one_line,
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
from finsight_assets.lib.tables.registry import SELF_DEPENDENT

# The money a balance roll-forward moves.
BALANCE_COLUMN = "closing_balance_usd"
# Estimate fields set against an actual in their own row; the others follow, by name.
_ESTIMATE_AGAINST_ACTUALS = ("partitions", "raw_rows", "seconds")
_ESTIMATE_DETAILS = sorted(
    f.name for f in fields(Estimate) if f.name not in _ESTIMATE_AGAINST_ACTUALS
)

# --- summary, scope, estimate -------------------------------------------------------------------


def _approvals_line(manifest: Manifest, approvals: Sequence[Mapping[str, Any]]) -> str:
    required = manifest.approvals_required
    given = len(approvals)
    who = ", ".join(f"{one_line(a.get('by'))} ({one_line(a.get('at'))})" for a in approvals)
    line = f"{given} given of {required} required"
    if given < required:
        line += f" (**{required - given} missing**)"
    return line + (f": {who}" if who else "")


def _summary_section(evidence: BackfillEvidence) -> list[str]:
    manifest = evidence.manifest
    start, end = manifest.requested_start, manifest.requested_end
    lines = [
        "## Summary",
        "",
        f"- **Reason:** {one_line(manifest.reason)}",
        f"- **Requested by:** {one_line(manifest.requested_by)}",
        f"- **Mode:** {one_line(manifest.mode)}",
        f"- **Requested range:** {one_line(start)} → {one_line(end)}",
        f"- **Approvals:** {_approvals_line(manifest, evidence.approvals)}",
        f"- **Git commit:** `{one_line(manifest.git_commit)}`",
    ]
    if evidence.evidence_digest:
        held = sum(1 for p in evidence.partitions if p.held)
        lines[2:2] = [
            f"- **Status:** {held:,} partition version(s) held for approval, not live; "
            f"evidence `{evidence.evidence_digest}`",
            f"- **To approve:** `finsight backfill approve {one_line(manifest.id)} "
            f"--evidence {evidence.evidence_digest}`",
        ]
    code_versions = manifest.code_versions
    if not code_versions:
        return [*lines, f"- **Code versions:** {NONE}"]
    lines.append("- **Code versions:**")
    lines.extend(
        f"  - {one_line(name)}: `{one_line(code_versions[name])}`" for name in sorted(code_versions)
    )
    return lines


def _scope_section(manifest: Manifest) -> list[str]:
    lines = ["## Scope", ""]
    if not manifest.ranges:
        return [*lines, "_No ranges in the manifest._"]
    rows = [
        (cell(r.asset), r.start.isoformat(), r.end.isoformat(), f"{r.days:,}")
        for r in manifest.ranges
    ]
    return lines + markdown_table(("asset", "start", "end", "days"), rows)


def _wall_seconds(runs: Sequence[RunTiming]) -> float | None:
    """Seconds from the first run's start to the last run's end, over runs with both known."""
    timed = [r for r in runs if r.started_at is not None and r.ended_at is not None]
    if not timed:
        return None
    first = min(r.started_at for r in timed if r.started_at is not None)
    last = max(r.ended_at for r in timed if r.ended_at is not None)
    return (last - first).total_seconds()


def _run_seconds(runs: Sequence[RunTiming]) -> float | None:
    seconds = [r.seconds for r in runs if r.seconds is not None]
    return sum(seconds) if seconds else None


def _actual_partitions(partitions: Sequence[PartitionEvidence]) -> str:
    held = sum(1 for p in partitions if p.held)
    published = sum(1 for p in partitions if p.version_id is not None and not p.held)
    rolled_back = sum(1 for p in partitions if p.rolled_back)
    detail = f"{published:,} published" + (f", {held:,} held for approval" if held else "")
    if rolled_back:
        detail += f", {rolled_back:,} rolled back"
    return f"{len(partitions):,} ({detail})"


def _actual_rows(partitions: Sequence[PartitionEvidence]) -> str:
    after = [p.rows_after for p in partitions if p.rows_after is not None]
    return count(sum(after)) if after else NONE


def _estimate_section(evidence: BackfillEvidence) -> list[str]:
    """The plan's estimate beside what happened: partitions, raw rows to read, rows published
    and seconds (the estimate counts raw rows; what a run publishes is counted apart)."""
    estimate = evidence.manifest.estimate
    partitions, rows, seconds = (
        (NONE, NONE, NONE)
        if estimate is None
        else (number(estimate.partitions), number(estimate.raw_rows), number(estimate.seconds))
    )
    table = [
        ("partitions", partitions, _actual_partitions(evidence.partitions)),
        ("raw rows", rows, NONE),
        ("rows published", NONE, _actual_rows(evidence.partitions)),
        ("wall seconds", seconds, number(_wall_seconds(evidence.runs))),
        ("run seconds (sum)", NONE, number(_run_seconds(evidence.runs))),
    ]
    if estimate is not None:
        table.extend((name, number(getattr(estimate, name)), NONE) for name in _ESTIMATE_DETAILS)
    return ["## Estimate vs actual", "", *markdown_table(("metric", "estimate", "actual"), table)]


def _roll_forward_section(evidence: BackfillEvidence) -> list[str]:
    """How far the balance chain reached past the requested days: days, account rows and the
    closing balances they moved (every later day opens at the changed close)."""
    end = evidence.manifest.requested_end
    beyond = sorted(
        (p for p in evidence.partitions if p.table in SELF_DEPENDENT and p.business_date > end),
        key=lambda p: p.business_date,
    )
    lines = ["## Balance roll-forward", ""]
    if not beyond:
        return [*lines, "_No day past the requested range changes._"]
    accounts = [(p.added or 0) + (p.removed or 0) + (p.changed or 0) for p in beyond]
    moved = [Decimal(p.total_change.get(BALANCE_COLUMN, "0")) for p in beyond]
    return [
        *lines,
        f"- **Days past {end.isoformat()}:** {len(beyond):,} "
        f"({beyond[0].business_date.isoformat()} → {beyond[-1].business_date.isoformat()})",
        f"- **Account rows changed:** {sum(accounts):,} (at most {max(accounts):,} in a day)",
        f"- **Closing balances moved:** {sum(moved)} USD summed over those days "
        f"(last day: {moved[-1]} USD)",
    ]


# --- partitions, checks, runs, events -----------------------------------------------------------


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
        "yes" if p.rolled_back else "no",
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
    "rolled back",
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
        _summary_section(evidence),
        _scope_section(evidence.manifest),
        _estimate_section(evidence),
        _roll_forward_section(evidence),
        _partitions_section(evidence.partitions),
        _checks_section(evidence.partitions),
        _runs_section(evidence.runs),
        _events_section(evidence.events),
    ]
    if chart_name:
        sections.insert(2, ["## Chart", "", f"![Backfill {manifest_id} chart]({chart_name})"])
    return "\n\n".join("\n".join(section) for section in sections) + "\n"
