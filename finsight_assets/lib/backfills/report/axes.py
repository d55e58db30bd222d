"""What every panel of the backfill chart shares: its colours, its limits, and how an axis of
dates or counts is drawn (matplotlib is imported only inside the functions)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

MAX_BAR_DATES = 31
MAX_LABELLED_DATES = 14
# Up to this many dates a panel's labels read level; more stand upright, so they never overlap.
MAX_LEVEL_LABELS = 7
HEADROOM = 1.3
BEFORE_COLOR = "#9e9e9e"
AFTER_COLOR = "#1f77b4"
ROLLED_BACK_COLOR = "#d62728"
REPLACED_COLOR = "#6a3d9a"
HELD_COLOR = "#aec7e8"
DIFF_SERIES = (("added", 0, "#2ca02c"), ("removed", 1, "#d62728"), ("changed", 2, "#ff7f0e"))
# How a partition's "after" is marked where it is not simply live (see `point_state`).
ROLLED_BACK, REPLACED, HELD = "rolled back", "replaced by a later backfill or run", "held"
# Per state: bar hatch, bar edge colour, and the marker drawn on a line instead.
STATE_STYLE = {
    ROLLED_BACK: ("//", ROLLED_BACK_COLOR, "x"),
    REPLACED: ("..", REPLACED_COLOR, "o"),
    HELD: ("xx", "#1f4e79", "|"),
}
LEGEND_LABELS = {
    ROLLED_BACK: "after, since rolled back",
    REPLACED: "after, since replaced by a later backfill or run",
    HELD: "after, held for approval (not live)",
}


def point_state(p: Any) -> str | None:
    """A partition's "after" state for the chart: held, rolled back, replaced, or None (live)."""
    if p.held:
        return HELD
    if p.rolled_back:
        return ROLLED_BACK
    return REPLACED if p.replaced_by else None


def figure_legend(figure: Any, states: set[str], diffs: bool) -> None:
    """One legend for every panel, below them all (outside every axes: it covers no bar, line,
    label or title): before and after, each state shown, and the diff colours."""
    from matplotlib.patches import Patch

    handles = [
        Patch(facecolor=BEFORE_COLOR, label="before (dashed line)"),
        Patch(facecolor=AFTER_COLOR, label="after (solid line)"),
    ]
    for state, (hatch, edge, _) in STATE_STYLE.items():
        if state in states:
            face = HELD_COLOR if state == HELD else AFTER_COLOR
            handles.append(
                Patch(facecolor=face, hatch=hatch, edgecolor=edge, label=LEGEND_LABELS[state])
            )
    if diffs:
        handles.extend(
            Patch(facecolor=color, label=f"rows {label}") for label, _, color in DIFF_SERIES
        )
    figure.legend(
        handles=handles, loc="outside lower center", ncols=min(len(handles), 4), fontsize=8
    )


def wrapped_title(ax: Any, title: str, width: int) -> None:
    """The panel's title, wrapped to about `width` characters a line, so it never runs past
    its panel (nor the figure's edge)."""
    import textwrap

    lines = (textwrap.fill(line, width=width, break_long_words=True) for line in title.splitlines())
    ax.set_title("\n".join(lines), fontsize=9)


def format_date_axis(ax: Any, dates: Sequence[date]) -> None:
    import matplotlib.dates as mdates

    locator = mdates.AutoDateLocator(minticks=3, maxticks=10)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y-%m-%d"))
    low, high = mdates.date2num(min(dates)), mdates.date2num(max(dates))
    ax.set_xlim(low - 0.7, high + 0.7)
    ax.tick_params(axis="x", labelrotation=35, labelsize=8)
    for label in ax.get_xticklabels():
        label.set_horizontalalignment("right")


def format_count_axis(ax: Any) -> None:
    from matplotlib.ticker import StrMethodFormatter

    ax.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    ax.tick_params(axis="y", labelsize=8)
    ax.grid(axis="y", alpha=0.3)


def headroom(ax: Any, values: Sequence[float], from_zero: bool) -> None:
    """Room above the data for the legend and the labels, so neither hides a bar or a line."""
    if not values:
        return
    low = 0.0 if from_zero else min(values)
    high = max(values)
    span = high - low or max(abs(high), 1.0) * 0.1
    bottom = low if from_zero else low - span * 0.1
    ax.set_ylim(bottom, low + span * HEADROOM if from_zero else high + span * 0.6)
