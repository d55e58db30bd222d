"""Prune the history rows of replaced versions that no rollback could need
(`lib/wap/retention.py`), and record who pruned what in the operations store."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import timedelta

from finsight_assets.lib.backfills.context import BackfillContext
from finsight_assets.lib.backfills.events import HISTORY_LOG, HISTORY_PRUNED
from finsight_assets.lib.wap import retention


@dataclass(frozen=True)
class Pruned:
    """What a prune found and (unless a dry run) deleted, and who ran it."""

    by: str
    versions: list[retention.Prunable]
    rows_deleted: dict[str, int]


def prune_history(
    ctx: BackfillContext, older_than_days: int, *, dry_run: bool = False, by: str | None = None
) -> Pruned:
    """Delete the history rows of versions replaced more than `older_than_days` ago that no
    rollback could restore; a prune that deletes is recorded under `events.HISTORY_LOG`."""
    who = ctx.identity.actor(by)
    now = ctx.clock()
    with ctx.connect() as warehouse:
        versions = retention.prunable(warehouse, now - timedelta(days=older_than_days))
        deleted = {} if dry_run else retention.prune(warehouse, versions, now)
    if not dry_run:
        ctx.store.record(
            HISTORY_LOG,
            HISTORY_PRUNED,
            now,
            by=who,
            older_than_days=older_than_days,
            versions=[
                {k: str(v) for k, v in dataclasses.asdict(version).items()} for version in versions
            ],
            rows_deleted=deleted,
        )
    return Pruned(who, versions, deleted)
