"""What every panel of the backfill chart shares: its colours, its limits, and how an axis of
dates or counts is drawn (matplotlib is imported only inside the functions)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

MAX_BAR_DATES = 31
MAX_LABELLED_DATES = 14
HEADROOM = 1.3
BEFORE_COLOR = "#9e9e9e"
AFTER_COLOR = "#1f77b4"
ROLLED_BACK_COLOR = "#d62728"


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
