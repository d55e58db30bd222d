"""The approval matrix applied to what a backfill changes (docs/backfills.md, "The approval
matrix").

A backfill's count is, per table, the distinct days its scope changes (the balance chain's
roll-forward included, as `planning.scope` reaches it), plus the days of the unreviewed
manifests (ones that needed no approval) that its scope reaches on that table through standing
manifests planned within SPLIT_WINDOW before it, overlapping or adjoining day after day. The
largest count of any table is what the matrix (`manifests.approvals_required`) is asked.
Standing: not a dry run, not rejected, not rolled back. So no more than six days of a table are
restated unreviewed within the window, however a restatement is split: of ten 6-day requests
over 60 days, the first needs none and every later one an approval.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from finsight_assets.lib.backfills.events import REJECTED, ROLLED_BACK
from finsight_assets.lib.backfills.manifests import AssetRange, approvals_required
from finsight_assets.lib.backfills.planning import days_between
from finsight_assets.lib.backfills.store import ManifestStore
from finsight_assets.lib.contract.run_tags import DRY_RUN

# How far back the manifests a request is counted with were planned.
SPLIT_WINDOW = timedelta(days=30)
# The events after which a manifest's changes no longer stand.
UNDONE = frozenset({REJECTED, ROLLED_BACK})


def days_changed(ranges: Iterable[AssetRange]) -> dict[str, set[date]]:
    """Per asset, the business dates the ranges cover."""
    days: dict[str, set[date]] = {}
    for r in ranges:
        days.setdefault(r.asset, set()).update(days_between(r.start, r.end))
    return days


def _touches(days: set[date], other: set[date]) -> bool:
    step = timedelta(days=1)
    return any(d in days or d - step in days or d + step in days for d in other)


@dataclass(frozen=True)
class Neighbour:
    """A standing manifest planned in the window: its scope, and whether it was reviewed."""

    ranges: tuple[AssetRange, ...]
    reviewed: bool


def counted_days(
    ranges: Sequence[AssetRange], neighbours: Iterable[Neighbour] = ()
) -> dict[str, int]:
    """Per table of `ranges`, the days the matrix counts: its own, and those of the unreviewed
    neighbours it reaches through overlapping or adjoining neighbours on that table."""
    others = [(days_changed(n.ranges), n.reviewed) for n in neighbours]
    counted: dict[str, int] = {}
    for asset, own in days_changed(ranges).items():
        reached, count = set(own), set(own)
        pending = [(days[asset], reviewed) for days, reviewed in others if asset in days]
        grew = True
        while grew:
            touching = [n for n in pending if _touches(reached, n[0])]
            for days, reviewed in touching:
                pending.remove((days, reviewed))
                reached |= days
                if not reviewed:
                    count |= days
            grew = bool(touching)
        counted[asset] = len(count)
    return counted


def approvals_for(ranges: Sequence[AssetRange], neighbours: Iterable[Neighbour] = ()) -> int:
    """How many approvals a backfill of `ranges` needs, counted with its neighbours."""
    return approvals_required(max(counted_days(ranges, neighbours).values(), default=0))


def neighbouring_scopes(
    store: ManifestStore, at: datetime, manifest_id: str | None = None
) -> list[Neighbour]:
    """The standing manifests planned in the SPLIT_WINDOW before `at` (and up to it), but
    `manifest_id`."""
    recent = [
        m
        for m in store.list()
        if m.id != manifest_id and m.mode != DRY_RUN and at - SPLIT_WINDOW <= m.created_at <= at
    ]
    return [
        Neighbour(m.ranges, m.approvals_required > 0)
        for m in recent
        if not _undone(store.events(m.id))
    ]


def _undone(history: Sequence[Mapping[str, object]]) -> bool:
    return any(e["event"] in UNDONE for e in history)
