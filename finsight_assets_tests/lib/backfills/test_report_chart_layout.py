"""The chart reads at 10 and at 180 days, as Matplotlib itself lays it out: every title, label
and tick inside the figure (none clipped), one legend that covers no panel, and each panel's
own labels inside it; a day replaced by a later backfill is marked apart from a rolled-back one.
The PNGs are written where `FINSIGHT_CHART_DIR` says, to look at."""

from __future__ import annotations

import os
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from matplotlib.figure import Figure
from matplotlib.text import Text

from finsight_assets.lib.backfills.report.chart import chart_png
from finsight_assets.lib.backfills.report.model import BackfillEvidence
from finsight_assets_tests.lib.backfills.test_report import MANIFEST, partition

# Every warehouse table's panel and both money panels.
TABLES = (
    ("silver.transactions", None, None),
    ("silver.customers", None, None),
    ("gold.daily_customer_summary", "net_flow_usd", "1000.00"),
    ("gold.account_daily_balance", "closing_balance_usd", "50000.00"),
    ("gold.segment_daily_report", None, None),
)
# A pixel of rounding.
SLACK = 1.0


def evidence(days: int) -> BackfillEvidence:
    """`days` days of every table, 200,000 rows a day or so; silver's second day rolled back,
    the balance chain's last three days replaced by a later backfill, the customers' last two
    held for approval."""
    partitions = []
    for i, (table, column, before) in enumerate(TABLES):
        for day in range(days):
            money: dict[str, Any] = {}
            if column and before:
                after = str(Decimal(before) + Decimal(day + 1) * Decimal("10.5"))
                money = {
                    "total_before": {column: before},
                    "total_after": {column: after},
                    "total_change": {column: str(Decimal(after) - Decimal(before))},
                }
            rows = 200_000 + 1_000 * i + 7 * day
            partitions.append(
                partition(
                    table,
                    day,
                    rows,
                    rows + 40 * (day % 5),
                    added=day,
                    changed=300 + day,
                    rolled_back=table == "silver.transactions" and day == 1,
                    held=table == "silver.customers" and day >= days - 2,
                    replaced_by="bf-20250320-later"
                    if table == "gold.account_daily_balance" and day >= days - 3
                    else None,
                    **money,
                )
            )
    manifest = replace(MANIFEST, reason="Re-run with corrected EUR/USD rates from the feed")
    return BackfillEvidence(manifest, [], [], partitions, [])


def drawn(monkeypatch, days: int) -> tuple[Figure, bytes]:
    """The figure `chart_png` draws (as it saves it) and the PNG it returns."""
    figures: list[Figure] = []
    save = Figure.savefig

    def saving(self, *args, **kwargs):
        figures.append(self)
        return save(self, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", saving)
    data = chart_png(evidence(days))
    [figure] = figures
    return figure, data


def inside(inner: Any, outer: Any) -> bool:
    return (
        inner.x0 >= outer.x0 - SLACK
        and inner.y0 >= outer.y0 - SLACK
        and inner.x1 <= outer.x1 + SLACK
        and inner.y1 <= outer.y1 + SLACK
    )


def texts(figure: Figure) -> list[Text]:
    return [
        t
        for t in figure.findobj(Text)
        if t.get_visible() and t.get_text().strip() and t.figure is figure
    ]


@pytest.mark.parametrize("days", [10, 180])
def test_the_chart_reads_at_10_and_180_days(monkeypatch, days):
    figure, data = drawn(monkeypatch, days)
    directory = os.environ.get("FINSIGHT_CHART_DIR")
    if directory:
        Path(directory, f"chart-{days}-days.png").write_bytes(data)
    renderer = figure.canvas.get_renderer()
    page = figure.bbox

    clipped = [
        t.get_text() for t in texts(figure) if not inside(t.get_window_extent(renderer), page)
    ]
    assert clipped == [], f"text past the figure's edge: {clipped}"

    assert [ax for ax in figure.axes if ax.get_legend() is not None] == []
    [legend] = figure.legends
    key = legend.get_window_extent(renderer)
    for ax in figure.axes:
        assert not key.overlaps(ax.get_window_extent(renderer)), ax.get_title()
        assert not key.overlaps(ax.title.get_window_extent(renderer)), ax.get_title()
    labels = [t.get_text() for t in legend.get_texts()]
    assert "after, since rolled back" in labels
    assert "after, since replaced by a later backfill or run" in labels
    assert "after, held for approval (not live)" in labels

    for ax in figure.axes:
        frame = ax.get_window_extent(renderer)
        for label in ax.texts:
            assert inside(label.get_window_extent(renderer), frame), label.get_text()
    titles = [ax.title.get_window_extent(renderer) for ax in figure.axes]
    for i, one in enumerate(titles):
        assert not any(one.overlaps(other) for other in titles[i + 1 :]), "titles overlap"
