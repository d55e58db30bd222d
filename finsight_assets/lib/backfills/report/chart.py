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
from finsight_assets.lib.backfills.report.axes import (
    AFTER_COLOR,
    BEFORE_COLOR,
    MAX_BAR_DATES,
    figure_legend,
    format_date_axis,
    point_state,
    wrapped_title,
)
from finsight_assets.lib.backfills.report.format import one_line, sorted_partitions, table_names
from finsight_assets.lib.backfills.report.model import BackfillEvidence, PartitionEvidence
from finsight_assets.lib.backfills.report.row_panels import plot_diffs, plot_table_rows
from finsight_assets.lib.tables.registry import MONEY_PANELS

CHART_SIZE_INCHES = (12.0, 9.0)
CHART_DPI = 110
CHART_COLUMNS = 3
# Characters of a 9-point title per inch of panel.
TITLE_CHARS_PER_INCH = 14


def _chart_title(manifest: Manifest) -> str:
    title = f"Backfill {one_line(manifest.id)}: {one_line(manifest.reason)}"
    return textwrap.fill(textwrap.shorten(title, width=220, placeholder=" …"), width=110)


def _has_counts(partitions: Sequence[PartitionEvidence]) -> bool:
    return any(
        value is not None
        for p in partitions
        for value in (p.rows_before, p.rows_after, p.added, p.removed, p.changed)
    )


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


def _plot_money(ax: Any, title: str, series: tuple[list, list, list], title_width: int) -> None:
    """Before (dashed grey) and after (blue) per business date; the gap is what moved. Plotted
    positions only: the report's figures stay exact decimal text."""
    import matplotlib.dates as mdates

    dates, before, after = series
    xs = [float(mdates.date2num(d)) for d in dates]
    ax.plot(xs, [float(v) for v in before], color=BEFORE_COLOR, linestyle="--")
    ax.plot(xs, [float(v) for v in after], color=AFTER_COLOR, linewidth=1.4)
    if len(xs) <= MAX_BAR_DATES:
        ax.scatter(xs, [float(v) for v in after], color=AFTER_COLOR, s=10, zorder=3)
    moved = sum((a - b for a, b in zip(after, before, strict=True)), Decimal(0))
    wrapped_title(ax, f"{title}: before vs after (moved {moved:,} in all)", title_width)
    ax.yaxis.set_major_formatter("{x:,.2f}")
    ax.tick_params(axis="y", labelsize=8)
    ax.grid(axis="y", alpha=0.3)
    format_date_axis(ax, dates)


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


def _title_width(panels_across: int) -> int:
    """About how many title characters fit on a line of one of `panels_across` panels."""
    return max(24, int(CHART_SIZE_INCHES[0] * TITLE_CHARS_PER_INCH / panels_across) - 8)


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
        rows = [p for p in ordered if p.table == table]
        plot_table_rows(ax, table, rows, _title_width(columns))
    for i, (title, series) in enumerate(money):
        ax = figure.add_subplot(grid[table_rows, i * columns : (i + 1) * columns])
        _plot_money(ax, title, series, _title_width(len(money)))
    plot_diffs(figure.add_subplot(grid[table_rows + bool(money), :]), ordered)
    states = {state for p in ordered if (state := point_state(p)) is not None}
    figure_legend(figure, states, diffs=True)


def chart_figure(evidence: BackfillEvidence, dpi: int = CHART_DPI) -> Any:
    """The backfill's chart as a Matplotlib figure, `CHART_SIZE_INCHES` at `dpi`, on an Agg
    canvas of its own (it neither needs nor changes a global matplotlib backend).

    One panel per table with rows before vs after per business date (an "after" held for
    approval, rolled back, or replaced by a later backfill since, each hatched its own way);
    what moved in money per date (net flow, closing balances: before and after); and added +
    removed + changed rows per date; one legend above them all. Without anything to plot the
    picture says "nothing published".
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
    return figure


def chart_png(evidence: BackfillEvidence, dpi: int = CHART_DPI) -> bytes:
    """The backfill's chart (`chart_figure`) as PNG bytes."""
    figure = chart_figure(evidence, dpi)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    return buffer.getvalue()


def render_chart(evidence: BackfillEvidence, path: Path) -> Path:
    """Draw the backfill's chart (`chart_png`) as a PNG file at `path` and return `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(chart_png(evidence))
    return path
