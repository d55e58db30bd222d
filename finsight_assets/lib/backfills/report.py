"""The evidence of one backfill as a Markdown report and a PNG chart, for people to read.

The module knows nothing of Dagster or of the warehouse: callers gather the evidence (manifest,
approvals, events, per-partition counts and diffs, check outcomes, run timings) into the plain
dataclasses below, and get back text and a picture. The same evidence always renders the same
report: nothing here reads the clock or the environment, partitions are sorted by table then
date, and money figures stay the exact decimal text they were given (never floats).
"""

from __future__ import annotations

import json
import logging
import re
import textwrap
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

NONE = "—"
SHORT_ID = 8
CHART_SIZE_INCHES = (11.0, 7.0)
CHART_DPI = 110
MAX_BAR_DATES = 31
MAX_LABELLED_DATES = 14
HEADROOM = 1.3
CHART_COLUMNS = 3
BEFORE_COLOR = "#9e9e9e"
AFTER_COLOR = "#1f77b4"
ROLLED_BACK_COLOR = "#d62728"


@dataclass(frozen=True)
class CheckEvidence:
    name: str
    passed: bool
    blocking: bool
    summary: str


@dataclass(frozen=True)
class PartitionEvidence:
    table: str
    business_date: date
    rows_before: int | None
    rows_after: int | None
    added: int | None
    removed: int | None
    changed: int | None
    total_change: Mapping[str, str]
    checks: Sequence[CheckEvidence]
    version_id: str | None
    replaced_version_id: str | None
    run_id: str | None
    rolled_back: bool = False


@dataclass(frozen=True)
class RunTiming:
    run_id: str
    status: str
    started_at: datetime | None
    ended_at: datetime | None
    partitions: int

    @property
    def seconds(self) -> float | None:
        """Wall seconds from start to end, or None while either is unknown."""
        if self.started_at is None or self.ended_at is None:
            return None
        return (self.ended_at - self.started_at).total_seconds()


@dataclass(frozen=True)
class BackfillEvidence:
    manifest: Mapping[str, Any]
    approvals: Sequence[Mapping[str, Any]]
    events: Sequence[Mapping[str, Any]]
    partitions: Sequence[PartitionEvidence]
    runs: Sequence[RunTiming]


# --- formatting helpers -------------------------------------------------------------------------


def _cell(value: Any) -> str:
    """Text safe inside a Markdown table cell: one line, pipes escaped, a dash for nothing."""
    if value is None or value == "":
        return NONE
    return " ".join(str(value).split()).replace("|", "\\|")


def _one_line(value: Any) -> str:
    return NONE if value is None or value == "" else " ".join(str(value).split())


def _count(value: int | None) -> str:
    return NONE if value is None else f"{value:,}"


def _number(value: Any) -> str:
    """An estimate or actual figure: separated numbers (floats to <= 3 decimals), or text."""
    if value is None:
        return NONE
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.3f}".rstrip("0").rstrip(".")
    return _cell(value)


def _short(identifier: str | None) -> str:
    return NONE if not identifier else f"`{identifier[:SHORT_ID]}`"


def _moment(value: datetime | None) -> str:
    return NONE if value is None else value.isoformat(sep=" ", timespec="seconds")


def _as_date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines.extend("| " + " | ".join(row) + " |" for row in rows)
    return lines


def _sorted_partitions(partitions: Sequence[PartitionEvidence]) -> list[PartitionEvidence]:
    return sorted(partitions, key=lambda p: (p.table, p.business_date))


def _tables(partitions: Sequence[PartitionEvidence]) -> list[str]:
    return sorted({p.table for p in partitions})


# --- Markdown sections --------------------------------------------------------------------------


def _approvals_line(manifest: Mapping[str, Any], approvals: Sequence[Mapping[str, Any]]) -> str:
    required = manifest.get("approvals_required")
    given = len(approvals)
    who = ", ".join(f"{_one_line(a.get('by'))} ({_one_line(a.get('at'))})" for a in approvals)
    line = f"{given} given of {_one_line(required)} required"
    if isinstance(required, int) and given < required:
        line += f" (**{required - given} missing**)"
    return line + (f": {who}" if who else "")


def _summary_section(evidence: BackfillEvidence) -> list[str]:
    manifest = evidence.manifest
    start, end = manifest.get("requested_start"), manifest.get("requested_end")
    lines = [
        "## Summary",
        "",
        f"- **Reason:** {_one_line(manifest.get('reason'))}",
        f"- **Requested by:** {_one_line(manifest.get('requested_by'))}",
        f"- **Mode:** {_one_line(manifest.get('mode'))}",
        f"- **Requested range:** {_one_line(start)} → {_one_line(end)}",
        f"- **Approvals:** {_approvals_line(manifest, evidence.approvals)}",
        f"- **Git commit:** `{_one_line(manifest.get('git_commit'))}`",
    ]
    code_versions = manifest.get("code_versions") or {}
    if not code_versions:
        return [*lines, f"- **Code versions:** {NONE}"]
    lines.append("- **Code versions:**")
    lines.extend(
        f"  - {_one_line(name)}: `{_one_line(code_versions[name])}`"
        for name in sorted(code_versions, key=str)
    )
    return lines


def _range_days(start: Any, end: Any) -> str:
    first, last = _as_date(start), _as_date(end)
    if first is None or last is None:
        return "?"
    return f"{(last - first).days + 1:,}"


def _scope_section(manifest: Mapping[str, Any]) -> list[str]:
    ranges = manifest.get("ranges") or []
    lines = ["## Scope", ""]
    if not ranges:
        return [*lines, "_No ranges in the manifest._"]
    rows = [
        (
            _cell(r.get("asset")),
            _cell(r.get("start")),
            _cell(r.get("end")),
            _range_days(r.get("start"), r.get("end")),
        )
        for r in ranges
    ]
    return lines + _table(("asset", "start", "end", "days"), rows)


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


_ESTIMATE_KEYS = {
    "partitions": ("partitions",),
    "rows": ("rows",),
    "wall seconds": ("seconds", "wall_seconds"),
}


def _estimate_value(estimate: Mapping[str, Any], metric: str) -> Any:
    return next((estimate[k] for k in _ESTIMATE_KEYS[metric] if k in estimate), None)


def _actual_partitions(partitions: Sequence[PartitionEvidence]) -> str:
    published = sum(1 for p in partitions if p.version_id is not None)
    rolled_back = sum(1 for p in partitions if p.rolled_back)
    detail = f"{published:,} published"
    if rolled_back:
        detail += f", {rolled_back:,} rolled back"
    return f"{len(partitions):,} ({detail})"


def _actual_rows(partitions: Sequence[PartitionEvidence]) -> str:
    after = [p.rows_after for p in partitions if p.rows_after is not None]
    return _count(sum(after)) if after else NONE


def _estimate_section(evidence: BackfillEvidence) -> list[str]:
    estimate = evidence.manifest.get("estimate") or {}
    run_seconds = _run_seconds(evidence.runs)
    rows = [
        (
            "partitions",
            _number(_estimate_value(estimate, "partitions")),
            _actual_partitions(evidence.partitions),
        ),
        ("rows", _number(_estimate_value(estimate, "rows")), _actual_rows(evidence.partitions)),
        (
            "wall seconds",
            _number(_estimate_value(estimate, "wall seconds")),
            _number(_wall_seconds(evidence.runs)),
        ),
        ("run seconds (sum)", NONE, _number(run_seconds)),
    ]
    known = {k for keys in _ESTIMATE_KEYS.values() for k in keys}
    rows.extend(
        (_cell(key), _number(estimate[key]), NONE)
        for key in sorted(estimate, key=str)
        if key not in known
    )
    return ["## Estimate vs actual", "", *_table(("metric", "estimate", "actual"), rows)]


def _rows_cell(before: int | None, after: int | None) -> str:
    text = f"{_count(before)} → {_count(after)}"
    if before is not None and after is not None:
        return f"{text} ({after - before:+,})"
    if before is None and after is not None:
        return f"{text} (new)"
    return text


def _total_change_cell(total_change: Mapping[str, str]) -> str:
    if not total_change:
        return NONE
    return "; ".join(
        f"{_cell(column)}: {_cell(total_change[column])}" for column in sorted(total_change)
    )


def _failed_label(check: CheckEvidence) -> str:
    return f"**{_cell(check.name)}**" + ("" if check.blocking else " (warn)")


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
        _count(p.added),
        _count(p.removed),
        _count(p.changed),
        _total_change_cell(p.total_change),
        _checks_cell(p.checks),
        _short(p.version_id),
        _short(p.replaced_version_id),
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
    ordered = _sorted_partitions(partitions)
    for table in _tables(ordered):
        rows = [_partition_row(p) for p in ordered if p.table == table]
        lines.extend([f"### {table}", "", *_table(_PARTITION_HEADER, rows), ""])
    return lines[:-1]


def _checks_section(partitions: Sequence[PartitionEvidence]) -> list[str]:
    lines = ["## Checks", ""]
    ordered = _sorted_partitions(partitions)
    total = sum(len(p.checks) for p in ordered)
    failed = [
        f"- {p.table} {p.business_date.isoformat()}: **{_one_line(c.name)}** "
        f"({'blocking' if c.blocking else 'warning'}) — {_one_line(c.summary)}"
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
            _short(r.run_id),
            _cell(r.status),
            _moment(r.started_at),
            _moment(r.ended_at),
            _number(r.seconds),
            f"{r.partitions:,}",
        )
        for r in runs
    ]
    return lines + _table(("run", "status", "start", "end", "seconds", "partitions"), rows)


def _event_value(value: Any) -> str:
    if isinstance(value, Mapping | list | tuple):
        return json.dumps(value, sort_keys=True, default=str)
    return _one_line(value)


def _events_section(events: Sequence[Mapping[str, Any]]) -> list[str]:
    lines = ["## Timeline", ""]
    if not events:
        return [*lines, "_No events were recorded._"]
    for event in events:
        fields = ", ".join(
            f"{key}={_event_value(event[key])}"
            for key in sorted(event, key=str)
            if key not in ("event", "at")
        )
        line = f"- {_one_line(event.get('at'))} **{_one_line(event.get('event'))}**"
        lines.append(line + (f" — {fields}" if fields else ""))
    return lines


def render_markdown(evidence: BackfillEvidence, chart_name: str | None) -> str:
    """The whole report as Markdown; `chart_name` (a path relative to the report) is embedded.

    Partitions are sorted by table then business date; runs and events keep the order given.
    Money changes are printed exactly as the decimal text they arrive as.
    """
    manifest_id = _one_line(evidence.manifest.get("id"))
    sections = [
        [f"# Backfill {manifest_id}"],
        _summary_section(evidence),
        _scope_section(evidence.manifest),
        _estimate_section(evidence),
        _partitions_section(evidence.partitions),
        _checks_section(evidence.partitions),
        _runs_section(evidence.runs),
        _events_section(evidence.events),
    ]
    if chart_name:
        sections.insert(2, ["## Chart", "", f"![Backfill {manifest_id} chart]({chart_name})"])
    return "\n\n".join("\n".join(section) for section in sections) + "\n"


# --- chart --------------------------------------------------------------------------------------


def _chart_title(manifest: Mapping[str, Any]) -> str:
    title = f"Backfill {_one_line(manifest.get('id'))}: {_one_line(manifest.get('reason'))}"
    return textwrap.fill(textwrap.shorten(title, width=220, placeholder=" …"), width=110)


def _has_counts(partitions: Sequence[PartitionEvidence]) -> bool:
    return any(
        value is not None
        for p in partitions
        for value in (p.rows_before, p.rows_after, p.added, p.removed, p.changed)
    )


def _format_date_axis(ax: Any, dates: Sequence[date]) -> None:
    import matplotlib.dates as mdates

    locator = mdates.AutoDateLocator(minticks=3, maxticks=10)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y-%m-%d"))
    low, high = mdates.date2num(min(dates)), mdates.date2num(max(dates))
    ax.set_xlim(low - 0.7, high + 0.7)
    ax.tick_params(axis="x", labelrotation=35, labelsize=8)
    for label in ax.get_xticklabels():
        label.set_horizontalalignment("right")


def _format_count_axis(ax: Any) -> None:
    from matplotlib.ticker import StrMethodFormatter

    ax.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    ax.tick_params(axis="y", labelsize=8)
    ax.grid(axis="y", alpha=0.3)


_Points = tuple[list[float], list[float], list[bool]]


def _points(partitions: Sequence[PartitionEvidence], attribute: str) -> _Points:
    """(x as Matplotlib date number, y, rolled back) for partitions where `attribute` is set."""
    import matplotlib.dates as mdates

    xs, ys, rolled = [], [], []
    for p in partitions:
        value = getattr(p, attribute)
        if value is not None:
            xs.append(float(mdates.date2num(p.business_date)))
            ys.append(float(value))
            rolled.append(p.rolled_back)
    return xs, ys, rolled


def _paired_bars(ax: Any, before: _Points, after: _Points) -> None:
    """Grey 'before' and blue 'after' bars side by side; rolled-back partitions hatched red."""
    from matplotlib.patches import Patch

    ax.bar([x - 0.2 for x in before[0]], before[1], width=0.4, color=BEFORE_COLOR)
    bars = ax.bar([x + 0.2 for x in after[0]], after[1], width=0.4, color=AFTER_COLOR)
    for bar, rolled in zip(bars, after[2], strict=True):
        if rolled:
            bar.set_hatch("//")
            bar.set_edgecolor(ROLLED_BACK_COLOR)
    handles = [
        Patch(facecolor=BEFORE_COLOR, label="rows before"),
        Patch(facecolor=AFTER_COLOR, label="rows after"),
    ]
    if any(after[2]):
        handles.append(
            Patch(
                facecolor=AFTER_COLOR, hatch="//", edgecolor=ROLLED_BACK_COLOR, label="rolled back"
            )
        )
    _headroom(ax, before[1] + after[1], from_zero=True)
    ax.legend(handles=handles, fontsize=8, ncols=len(handles), loc="upper center")


def _lines(ax: Any, before: _Points, after: _Points) -> None:
    """Dashed grey 'before' and solid blue 'after' lines; rolled-back partitions as red crosses."""
    ax.plot(
        before[0], before[1], color=BEFORE_COLOR, linestyle="--", linewidth=2.5, label="rows before"
    )
    ax.plot(after[0], after[1], color=AFTER_COLOR, linewidth=1.2, label="rows after")
    rolled = [(x, y) for x, y, r in zip(*after, strict=True) if r]
    if rolled:
        ax.scatter(
            *zip(*rolled, strict=True),
            color=ROLLED_BACK_COLOR,
            marker="x",
            zorder=3,
            label="rolled back",
        )
    _headroom(ax, before[1] + after[1], from_zero=False)
    ax.legend(fontsize=8, ncols=3, loc="upper center")


def _headroom(ax: Any, values: Sequence[float], from_zero: bool) -> None:
    """Room above the data for the legend and the labels, so neither hides a bar or a line."""
    if not values:
        return
    low = 0.0 if from_zero else min(values)
    high = max(values)
    span = high - low or max(abs(high), 1.0) * 0.1
    bottom = low if from_zero else low - span * 0.1
    ax.set_ylim(bottom, low + span * HEADROOM if from_zero else high + span * 0.6)


def _delta_label(p: PartitionEvidence) -> str | None:
    if p.rows_after is None:
        return None
    if p.rows_before is None:
        return "new"
    return f"{p.rows_after - p.rows_before:+,}"


def _label_deltas(ax: Any, partitions: Sequence[PartitionEvidence]) -> None:
    """The change in rows written above each before/after pair (it is often too small to see)."""
    import matplotlib.dates as mdates

    for p in partitions:
        label = _delta_label(p)
        if label is None or p.rows_after is None:
            continue
        shrunk = p.rows_before is not None and p.rows_after < p.rows_before
        top = float(max(p.rows_before or 0, p.rows_after))
        ax.annotate(
            label,
            (float(mdates.date2num(p.business_date)), top),
            xytext=(0, 2),
            textcoords="offset points",
            ha="center",
            va="bottom",
            fontsize=7,
            color=ROLLED_BACK_COLOR if shrunk else "#333333",
        )


def _plot_table_rows(ax: Any, table: str, partitions: Sequence[PartitionEvidence]) -> None:
    """Rows before vs after for one table: paired bars, or lines when there are many dates."""
    before = _points(partitions, "rows_before")
    after = _points(partitions, "rows_after")
    if len(partitions) <= MAX_BAR_DATES:
        _paired_bars(ax, before, after)
    else:
        _lines(ax, before, after)
    if len(partitions) <= MAX_LABELLED_DATES:
        _label_deltas(ax, partitions)
    ax.set_title(f"{table}: rows before vs after", fontsize=10)
    ax.set_ylabel("rows", fontsize=9)
    _format_count_axis(ax)
    _format_date_axis(ax, [p.business_date for p in partitions])


def _diff_totals(partitions: Sequence[PartitionEvidence]) -> dict[date, tuple[int, int, int]]:
    """Per business date, over all tables: (added, removed, changed) rows."""
    totals: dict[date, tuple[int, int, int]] = {}
    for p in partitions:
        added, removed, changed = totals.get(p.business_date, (0, 0, 0))
        totals[p.business_date] = (
            added + (p.added or 0),
            removed + (p.removed or 0),
            changed + (p.changed or 0),
        )
    return dict(sorted(totals.items()))


def _plot_diffs(ax: Any, partitions: Sequence[PartitionEvidence]) -> None:
    """Stacked added / removed / changed rows per business date, summed over tables."""
    import matplotlib.dates as mdates

    totals = _diff_totals(partitions)
    xs = [float(mdates.date2num(d)) for d in totals]
    bottom = [0.0] * len(xs)
    series = (("added", 0, "#2ca02c"), ("removed", 1, "#d62728"), ("changed", 2, "#ff7f0e"))
    for label, index, color in series:
        heights = [float(v[index]) for v in totals.values()]
        ax.bar(xs, heights, bottom=bottom, width=0.8, color=color, label=label)
        bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
    if len(xs) <= 2 * MAX_LABELLED_DATES:
        for x, total in zip(xs, bottom, strict=True):
            ax.annotate(
                f"{total:,.0f}",
                (x, total),
                xytext=(0, 2),
                textcoords="offset points",
                ha="center",
                va="bottom",
                fontsize=7,
            )
    _headroom(ax, bottom, from_zero=True)
    ax.set_title("rows added + removed + changed per business date (all tables)", fontsize=10)
    ax.set_ylabel("rows", fontsize=9)
    _format_count_axis(ax)
    _format_date_axis(ax, list(totals))
    ax.legend(fontsize=8, ncols=3, loc="upper center")


def _draw_nothing(figure: Any, manifest: Mapping[str, Any]) -> None:
    ax = figure.add_subplot()
    ax.set_axis_off()
    mode = _one_line(manifest.get("mode"))
    ax.text(
        0.5,
        0.55,
        "nothing published",
        ha="center",
        va="center",
        fontsize=28,
        color="#555555",
        transform=ax.transAxes,
    )
    ax.text(
        0.5,
        0.42,
        f"mode: {mode}",
        ha="center",
        va="center",
        fontsize=12,
        color="#777777",
        transform=ax.transAxes,
    )


def _draw_evidence(figure: Any, partitions: Sequence[PartitionEvidence]) -> None:
    ordered = _sorted_partitions(partitions)
    tables = _tables(ordered)
    table_rows = -(-len(tables) // CHART_COLUMNS)
    columns = -(-len(tables) // table_rows)
    grid = figure.add_gridspec(table_rows + 1, columns)
    for i, table in enumerate(tables):
        ax = figure.add_subplot(grid[i // columns, i % columns])
        _plot_table_rows(ax, table, [p for p in ordered if p.table == table])
    _plot_diffs(figure.add_subplot(grid[table_rows, :]), ordered)


def render_chart(evidence: BackfillEvidence, path: Path) -> Path:
    """Draw the backfill's chart as a PNG at `path` and return `path`.

    One panel per table with rows before vs after per business date (rolled-back partitions
    hatched), and one panel with added + removed + changed rows per date. Without anything to
    plot the picture says "nothing published". Uses the Agg canvas directly, so it neither needs
    nor changes a global matplotlib backend.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=CHART_SIZE_INCHES, dpi=CHART_DPI, layout="constrained")
    FigureCanvasAgg(figure)
    figure.suptitle(_chart_title(evidence.manifest), fontsize=12, fontweight="bold")
    if _has_counts(evidence.partitions):
        _draw_evidence(figure, evidence.partitions)
    else:
        _draw_nothing(figure, evidence.manifest)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png", dpi=CHART_DPI, metadata={"Software": None})
    return path


# --- files --------------------------------------------------------------------------------------


def _file_stem(manifest: Mapping[str, Any]) -> str:
    """`backfill-<id>`, with anything but letters, digits, dot, dash and underscore replaced."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", str(manifest.get("id") or "unknown"))
    return f"backfill-{safe}"


def write_report(evidence: BackfillEvidence, out_dir: Path) -> tuple[Path, Path]:
    """Write `backfill-<id>.md` and `backfill-<id>.png` into `out_dir` (created if missing).

    Returns the Markdown path and the PNG path; the Markdown embeds the PNG by relative name.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = _file_stem(evidence.manifest)
    chart = render_chart(evidence, out_dir / f"{stem}.png")
    markdown = out_dir / f"{stem}.md"
    markdown.write_text(render_markdown(evidence, chart.name), encoding="utf-8")
    logger.info("Wrote backfill report %s and chart %s", markdown, chart)
    return markdown, chart
