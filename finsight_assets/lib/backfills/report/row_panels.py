"""The chart's panels of rows: rows before vs after per table and business date, and the rows
added, removed and changed per business date over all tables."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from finsight_assets.lib.backfills.report.axes import (
    AFTER_COLOR,
    BEFORE_COLOR,
    MAX_BAR_DATES,
    MAX_LABELLED_DATES,
    ROLLED_BACK_COLOR,
    format_count_axis,
    format_date_axis,
    headroom,
)
from finsight_assets.lib.backfills.report.model import PartitionEvidence

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
    headroom(ax, before[1] + after[1], from_zero=True)
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
    headroom(ax, before[1] + after[1], from_zero=False)
    ax.legend(fontsize=8, ncols=3, loc="upper center")


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


def plot_table_rows(ax: Any, table: str, partitions: Sequence[PartitionEvidence]) -> None:
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
    headroom(ax, bottom, from_zero=True)
    ax.set_title("rows added + removed + changed per business date (all tables)", fontsize=10)
    ax.set_ylabel("rows", fontsize=9)
    format_count_axis(ax)
    format_date_axis(ax, list(totals))
    ax.legend(fontsize=8, ncols=3, loc="upper center")
