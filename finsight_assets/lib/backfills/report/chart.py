"""The evidence of one backfill as a PNG chart, for people to read.

Matplotlib is imported only when a chart is drawn, so importing the report costs nothing, and the
Agg canvas is used directly, so no global backend is needed or changed. The same evidence always
draws the same picture.
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from finsight_assets.lib.backfills.manifests import Manifest
from finsight_assets.lib.backfills.report.format import one_line, sorted_partitions, table_names
from finsight_assets.lib.backfills.report.model import BackfillEvidence, PartitionEvidence
from finsight_assets.lib.tables.registry import MONEY_PANELS

CHART_SIZE_INCHES = (12.0, 9.0)
CHART_DPI = 110
MAX_BAR_DATES = 31
MAX_LABELLED_DATES = 14
HEADROOM = 1.3
CHART_COLUMNS = 3
BEFORE_COLOR = "#9e9e9e"
AFTER_COLOR = "#1f77b4"
ROLLED_BACK_COLOR = "#d62728"


def _chart_title(manifest: Manifest) -> str:
    title = f"Backfill {one_line(manifest.id)}: {one_line(manifest.reason)}"
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


def _money_series(
    partitions: Sequence[PartitionEvidence], table: str, column: str
) -> tuple[list[date], list[Decimal], list[Decimal]]:
    """(dates, sum before, sum after) of one money column, exact, where both are known."""
    rows = sorted(
        (p for p in partitions if p.table == table and column in p.total_after),
        key=lambda p: p.business_date,
    )
    return (
        [p.business_date for p in rows],
        [Decimal(p.total_before.get(column, "0")) for p in rows],
        [Decimal(p.total_after[column]) for p in rows],
    )


def _plot_money(ax: Any, title: str, series: tuple[list, list, list]) -> None:
    """Before (dashed grey) and after (blue) per business date; the gap is what moved. Plotted
    positions only: the report's figures stay exact decimal text."""
    import matplotlib.dates as mdates

    dates, before, after = series
    xs = [float(mdates.date2num(d)) for d in dates]
    ax.plot(xs, [float(v) for v in before], color=BEFORE_COLOR, linestyle="--", label="before")
    ax.plot(xs, [float(v) for v in after], color=AFTER_COLOR, linewidth=1.4, label="after")
    if len(xs) <= MAX_BAR_DATES:
        ax.scatter(xs, [float(v) for v in after], color=AFTER_COLOR, s=10, zorder=3)
    moved = sum((a - b for a, b in zip(after, before, strict=True)), Decimal(0))
    ax.set_title(f"{title}: before vs after (moved {moved:,} in all)", fontsize=10)
    ax.yaxis.set_major_formatter("{x:,.2f}")
    ax.tick_params(axis="y", labelsize=8)
    ax.grid(axis="y", alpha=0.3)
    _format_date_axis(ax, dates)
    ax.legend(fontsize=8, loc="best")


def money_panels(partitions: Sequence[PartitionEvidence]) -> list[tuple[str, tuple]]:
    panels = []
    for choices in MONEY_PANELS:
        for table, column, title in choices:
            series = _money_series(partitions, table, column)
            if series[0]:
                panels.append((title, series))
                break
    return panels


def _draw_nothing(figure: Any, manifest: Manifest) -> None:
    ax = figure.add_subplot()
    ax.set_axis_off()
    mode = one_line(manifest.mode)
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
    ordered = sorted_partitions(partitions)
    tables = table_names(ordered)
    table_rows = -(-len(tables) // CHART_COLUMNS)
    columns = -(-len(tables) // table_rows)
    money = money_panels(ordered)
    grid = figure.add_gridspec(table_rows + 1 + bool(money), columns * max(len(money), 1))
    width = max(len(money), 1)
    for i, table in enumerate(tables):
        row, column = i // columns, (i % columns) * width
        ax = figure.add_subplot(grid[row, column : column + width])
        _plot_table_rows(ax, table, [p for p in ordered if p.table == table])
    for i, (title, series) in enumerate(money):
        ax = figure.add_subplot(grid[table_rows, i * columns : (i + 1) * columns])
        _plot_money(ax, title, series)
    _plot_diffs(figure.add_subplot(grid[table_rows + bool(money), :]), ordered)


def chart_png(evidence: BackfillEvidence, dpi: int = CHART_DPI) -> bytes:
    """The backfill's chart as PNG bytes, `CHART_SIZE_INCHES` at `dpi`.

    One panel per table with rows before vs after per business date (rolled-back partitions
    hatched); what moved in money per date (net flow, closing balances: before and after); and
    added + removed + changed rows per date. Without anything to plot the picture says "nothing
    published". Uses the Agg canvas directly, so it neither needs nor changes a global
    matplotlib backend.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=CHART_SIZE_INCHES, dpi=dpi, layout="constrained")
    FigureCanvasAgg(figure)
    figure.suptitle(_chart_title(evidence.manifest), fontsize=12, fontweight="bold")
    if _has_counts(evidence.partitions):
        _draw_evidence(figure, evidence.partitions)
    else:
        _draw_nothing(figure, evidence.manifest)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    return buffer.getvalue()


def render_chart(evidence: BackfillEvidence, path: Path) -> Path:
    """Draw the backfill's chart (`chart_png`) as a PNG file at `path` and return `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(chart_png(evidence))
    return path
