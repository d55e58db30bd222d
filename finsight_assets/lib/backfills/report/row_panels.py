"""The chart's panels of rows: rows before vs after per table and business date, and the rows
added, removed and changed per business date over all tables."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from finsight_assets.lib.backfills.report.axes import (
    AFTER_COLOR,
    BEFORE_COLOR,
    DIFF_SERIES,
    HELD,
    HELD_COLOR,
    MAX_BAR_DATES,
    MAX_LABELLED_DATES,
    MAX_LEVEL_LABELS,
    ROLLED_BACK_COLOR,
    STATE_STYLE,
    format_count_axis,
    format_date_axis,
    headroom,
    point_state,
    wrapped_title,
)
from finsight_assets.lib.backfills.report.model import PartitionEvidence

_Points = tuple[list[float], list[float], list[str | None]]


def _points(partitions: Sequence[PartitionEvidence], attribute: str) -> _Points:
    """(x as Matplotlib date number, y, state) for partitions where `attribute` is set."""
    import matplotlib.dates as mdates

    xs, ys, states = [], [], []
    for p in partitions:
        value = getattr(p, attribute)
        if value is not None:
            xs.append(float(mdates.date2num(p.business_date)))
            ys.append(float(value))
            states.append(point_state(p))
    return xs, ys, states


def _paired_bars(ax: Any, before: _Points, after: _Points) -> None:
    """Grey 'before' and blue 'after' bars side by side; an 'after' held, rolled back or
    replaced since is hatched as the figure's legend says."""
    ax.bar([x - 0.2 for x in before[0]], before[1], width=0.4, color=BEFORE_COLOR)
    bars = ax.bar([x + 0.2 for x in after[0]], after[1], width=0.4, color=AFTER_COLOR)
    for bar, state in zip(bars, after[2], strict=True):
        if state is not None:
            hatch, edge, _ = STATE_STYLE[state]
            bar.set_hatch(hatch)
            bar.set_edgecolor(edge)
            if state == HELD:
                bar.set_facecolor(HELD_COLOR)
    headroom(ax, before[1] + after[1], from_zero=True)


def _lines(ax: Any, before: _Points, after: _Points) -> None:
    """Dashed grey 'before' and solid blue 'after' lines; an 'after' held, rolled back or
    replaced since is marked as the figure's legend says."""
    ax.plot(before[0], before[1], color=BEFORE_COLOR, linestyle="--", linewidth=2.5)
    ax.plot(after[0], after[1], color=AFTER_COLOR, linewidth=1.2)
    for state, (_, edge, marker) in STATE_STYLE.items():
        marked = [(x, y) for x, y, s in zip(*after, strict=True) if s == state]
        if marked:
            ax.scatter(*zip(*marked, strict=True), color=edge, marker=marker, s=18, zorder=3)
    headroom(ax, before[1] + after[1], from_zero=False)


def _delta_label(p: PartitionEvidence) -> str | None:
    if p.rows_after is None:
        return None
    if p.rows_before is None:
        return "new"
    return f"{p.rows_after - p.rows_before:+,}"


def _label_deltas(ax: Any, partitions: Sequence[PartitionEvidence]) -> None:
    """The change in rows written above each before/after pair (it is often too small to see)."""
    import matplotlib.dates as mdates

    upright = len(partitions) > MAX_LEVEL_LABELS
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
            rotation=90 if upright else 0,
            fontsize=6 if upright else 7,
            color=ROLLED_BACK_COLOR if shrunk else "#333333",
        )


def plot_table_rows(
    ax: Any, table: str, partitions: Sequence[PartitionEvidence], title_width: int
) -> None:
    """Rows before vs after for one table: paired bars, or lines when there are many dates."""
    before = _points(partitions, "rows_before")
    after = _points(partitions, "rows_after")
    if len(partitions) <= MAX_BAR_DATES:
        _paired_bars(ax, before, after)
    else:
        _lines(ax, before, after)
    if len(partitions) <= MAX_LABELLED_DATES:
        _label_deltas(ax, partitions)
    wrapped_title(ax, f"{table}\nrows before vs after", title_width)
    ax.set_ylabel("rows", fontsize=9)
    format_count_axis(ax)
    format_date_axis(ax, [p.business_date for p in partitions])


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


def plot_diffs(ax: Any, partitions: Sequence[PartitionEvidence]) -> None:
    """Stacked added / removed / changed rows per business date, summed over tables."""
    import matplotlib.dates as mdates

    totals = _diff_totals(partitions)
    xs = [float(mdates.date2num(d)) for d in totals]
    bottom = [0.0] * len(xs)
    for _, index, color in DIFF_SERIES:
        heights = [float(v[index]) for v in totals.values()]
        ax.bar(xs, heights, bottom=bottom, width=0.8, color=color)
        bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
    if len(xs) <= 2 * MAX_LABELLED_DATES:
        upright = len(xs) > MAX_LABELLED_DATES
        for x, total in zip(xs, bottom, strict=True):
            ax.annotate(
                f"{total:,.0f}",
                (x, total),
                xytext=(0, 2),
                textcoords="offset points",
                ha="center",
                va="bottom",
                rotation=90 if upright else 0,
                fontsize=7,
            )
    headroom(ax, bottom, from_zero=True)
    wrapped_title(ax, "rows added + removed + changed per business date (all tables)", 120)
    ax.set_ylabel("rows", fontsize=9)
    format_count_axis(ax)
    format_date_axis(ax, list(totals))
