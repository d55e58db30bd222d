"""Text for single values, Markdown tables, and the order partitions are shown in.

Shared by the Markdown report and the chart: nothing here reads the clock or the environment,
and decimal text is passed through as given (never turned into floats).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from finsight_assets.lib.backfills.report.model import PartitionEvidence

NONE = "—"
SHORT_ID = 8


def one_line(value: Any) -> str:
    """The value as one line of text, or a dash for nothing."""
    return NONE if value is None or value == "" else " ".join(str(value).split())


def cell(value: Any) -> str:
    """Text safe inside a Markdown table cell: one line, pipes escaped, a dash for nothing."""
    if value is None or value == "":
        return NONE
    return " ".join(str(value).split()).replace("|", "\\|")


def count(value: int | None) -> str:
    return NONE if value is None else f"{value:,}"


def number(value: Any) -> str:
    """An estimate or actual figure: separated numbers (floats to <= 3 decimals), or text."""
    if value is None:
        return NONE
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.3f}".rstrip("0").rstrip(".")
    return cell(value)


def short_id(identifier: str | None) -> str:
    return NONE if not identifier else f"`{identifier[:SHORT_ID]}`"


def moment(value: datetime | None) -> str:
    return NONE if value is None else value.isoformat(sep=" ", timespec="seconds")


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines.extend("| " + " | ".join(row) + " |" for row in rows)
    return lines


def replaced_label(p: PartitionEvidence, quote: str = "`") -> str | None:
    """ "replaced by a later backfill (<manifest>)" (or run), or None if nothing replaced it."""
    if p.replaced_by is None:
        return None
    what = "run" if p.replaced_by_run else "backfill"
    return f"replaced by a later {what} ({quote}{one_line(p.replaced_by)}{quote})"


def partition_now(p: PartitionEvidence) -> str:
    """Where the partition's version stands now: held, live, rolled back or replaced."""
    if p.held:
        return "held for approval"
    if p.version_id is None:
        return NONE
    if p.rolled_back:
        return "rolled back"
    return replaced_label(p) or "live"


def sorted_partitions(partitions: Sequence[PartitionEvidence]) -> list[PartitionEvidence]:
    """Partitions by table then business date: the one order the report shows them in."""
    return sorted(partitions, key=lambda p: (p.table, p.business_date))


def table_names(partitions: Sequence[PartitionEvidence]) -> list[str]:
    return sorted({p.table for p in partitions})
