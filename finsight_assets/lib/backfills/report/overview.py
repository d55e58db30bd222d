"""The report's overview sections: summary, scope, the estimate against what happened, and how
far the balance chain rolled forward. Money stays the exact decimal text it arrives as."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import fields
from decimal import Decimal
from typing import Any

from finsight_assets.lib.backfills.manifests import Estimate, Manifest
from finsight_assets.lib.backfills.next_step import next_step
from finsight_assets.lib.backfills.people import REQUESTER_UNAUTHENTICATED
from finsight_assets.lib.backfills.report.format import (
    NONE,
    cell,
    count,
    markdown_table,
    number,
    one_line,
)
from finsight_assets.lib.backfills.report.model import (
    BackfillEvidence,
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


def approvals_text(approvals: Sequence[Mapping[str, Any]], required: int, strong: str = "") -> str:
    """ "2 of 2 approvals (alice, bob)", or "1 of 2 approvals (alice; 1 missing)" (the missing
    count between `strong` marks)."""
    names = ", ".join(one_line(a.get("by")) for a in approvals)
    missing = required - len(approvals)
    details = [names] if names else []
    if missing > 0:
        details.append(f"{strong}{missing} missing{strong}")
    return f"{len(approvals)} of {required} approvals" + (
        f" ({'; '.join(details)})" if details else ""
    )


def _approvals_line(evidence: BackfillEvidence) -> str:
    """How many approvals of how many and who gave them, when, and (unless the held evidence's
    digest is shown above) which evidence digest they approved."""
    approvals = evidence.approvals
    line = approvals_text(approvals, evidence.manifest.approvals_required, strong="**")
    when = ", ".join(f"{one_line(a.get('by'))} at {one_line(a.get('at'))}" for a in approvals)
    approved = approvals[0].get("digest") if approvals else None
    if approved and evidence.evidence_digest is None:
        line += f" of evidence `{one_line(approved)}`"
    return line + (f" — {when}" if when else "")


def _status_lines(evidence: BackfillEvidence) -> list[str]:
    """Its stage, what it holds (not live) and the one command its stage offers next."""
    stage = [f"- **Stage:** {one_line(evidence.stage)}"] if evidence.stage else []
    if not evidence.evidence_digest:
        return stage
    held = sum(1 for p in evidence.partitions if p.held)
    lines = [
        *stage,
        f"- **Held:** {held:,} partition version(s) held for approval, not live; "
        f"evidence digest `{evidence.evidence_digest}`",
    ]
    step = next_step(one_line(evidence.manifest.id), evidence.stage, evidence.evidence_digest)
    return lines + ([f"- **{step.what}:** `{step.command}`"] if step else [])


def _requester(manifest: Manifest) -> str:
    requester = one_line(manifest.requested_by)
    if manifest.extra.get(REQUESTER_UNAUTHENTICATED):
        requester += " (unauthenticated: the UI backfill's `user` tag, which anyone can set)"
    return requester


def summary_section(evidence: BackfillEvidence) -> list[str]:
    manifest = evidence.manifest
    start, end = manifest.requested_start, manifest.requested_end
    lines = [
        "## Summary",
        "",
        f"- **Reason:** {one_line(manifest.reason)}",
        f"- **Requested by:** {_requester(manifest)}",
        f"- **Mode:** {one_line(manifest.mode)}",
        f"- **Requested range:** {one_line(start)} → {one_line(end)}",
        f"- **Approvals:** {_approvals_line(evidence)}",
        f"- **Git commit:** `{one_line(manifest.git_commit)}`",
    ]
    lines[2:2] = _status_lines(evidence)
    code_versions = manifest.code_versions
    if not code_versions:
        return [*lines, f"- **Code versions:** {NONE}"]
    lines.append("- **Code versions:**")
    lines.extend(
        f"  - {one_line(name)}: `{one_line(code_versions[name])}`" for name in sorted(code_versions)
    )
    return lines


def scope_section(manifest: Manifest) -> list[str]:
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
    """How many partitions, published or held, and how many of those published a rollback or
    a later publish has taken off their day since."""
    held = sum(1 for p in partitions if p.held)
    published = sum(1 for p in partitions if p.version_id is not None and not p.held)
    detail = f"{published:,} published" + (f", {held:,} held for approval" if held else "")
    since = [
        (
            sum(1 for p in partitions if p.replaced_by and not p.replaced_by_run),
            "replaced by a later backfill",
        ),
        (
            sum(1 for p in partitions if p.replaced_by and p.replaced_by_run),
            "replaced by a later run",
        ),
        (sum(1 for p in partitions if p.rolled_back), "rolled back"),
    ]
    gone = [f"{n:,} {what}" for n, what in since if n]
    return f"{len(partitions):,} ({detail}" + (f"; since: {', '.join(gone)}" if gone else "") + ")"


def _actual_rows(partitions: Sequence[PartitionEvidence], held: bool) -> str:
    after = [p.rows_after for p in partitions if p.rows_after is not None and p.held == held]
    return count(sum(after)) if after else NONE


def _rows_rows(partitions: Sequence[PartitionEvidence]) -> list[tuple[str, str, str]]:
    """ "rows published" and, while any are held, "rows held for approval" (never counted as
    published: they are not live)."""
    rows = []
    if any(p.held for p in partitions):
        rows.append(("rows held for approval", NONE, _actual_rows(partitions, held=True)))
    if not rows or any(not p.held and p.rows_after is not None for p in partitions):
        rows.append(("rows published", NONE, _actual_rows(partitions, held=False)))
    return rows


def estimate_section(evidence: BackfillEvidence) -> list[str]:
    """The plan's estimate beside what happened: partitions, raw rows to read, rows published
    (or held for approval) and seconds (the estimate counts raw rows; what a run publishes or
    holds is counted apart)."""
    estimate = evidence.manifest.estimate
    partitions, rows, seconds = (
        (NONE, NONE, NONE)
        if estimate is None
        else (number(estimate.partitions), number(estimate.raw_rows), number(estimate.seconds))
    )
    table = [
        ("partitions", partitions, _actual_partitions(evidence.partitions)),
        ("raw rows", rows, NONE),
        *_rows_rows(evidence.partitions),
        ("wall seconds", seconds, number(_wall_seconds(evidence.runs))),
        ("run seconds (sum)", NONE, number(_run_seconds(evidence.runs))),
    ]
    if estimate is not None:
        table.extend((name, number(getattr(estimate, name)), NONE) for name in _ESTIMATE_DETAILS)
    return ["## Estimate vs actual", "", *markdown_table(("metric", "estimate", "actual"), table)]


def roll_forward_section(evidence: BackfillEvidence) -> list[str]:
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
