"""What the publish log tells: the changes no Dagster step reported (a held publish, a rollback,
held candidates discarded), what one backfill published, and which later versions opened from a
backfill's."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from finsight_assets.lib.engines.warehouse import Warehouse, bound
from finsight_assets.lib.wap.audit_tables import (
    CURRENT_VERSIONS,
    HELD_PUBLISH_NOTE,
    PARTITION_VERSIONS,
    PUBLISH_LOG,
)
from finsight_assets.lib.wap.held_versions import HeldVersion
from finsight_assets.lib.wap.versions import current_versions, log_changes

# The publish-log action of a day whose held candidates were discarded (a rejection, a
# cancellation): its `version_id` is the version live then (NULL: none), its `run_id` names the
# manifest (`DISCARDED_BY` and the manifest id), its note why.
DISCARD = "discard"
DISCARDED_BY = "discarded-"


@dataclass(frozen=True)
class UnreportedChange:
    """A change no Dagster step reported: a held version published on approval, a rollback, or
    a day's held candidates discarded (`action` "discard": `version_id` is the day's live
    version, "" when none, with its rows, 0 when none). `seq` orders the publish log; `run_id`
    computed the version ("" when none); `manifest_id` is the backfill's, when one's."""

    seq: int
    table_name: str
    business_date: date
    action: str
    version_id: str
    row_count: int
    run_id: str
    manifest_id: str = ""


def log_discarded(
    warehouse: Warehouse, manifest_id: str, discarded: Sequence[HeldVersion], at: datetime, why: str
) -> None:
    """Log per table and day that the manifest's held candidates were discarded (`why`:
    rejected, cancelled), beside the version live then; in the caller's transaction."""
    for name in sorted({h.version.table_name for h in discarded}):
        days = sorted({h.version.business_date for h in discarded if h.version.table_name == name})
        live = current_versions(warehouse, name, days)
        log_changes(
            warehouse,
            name,
            DISCARD,
            {d: (live.get(d), None) for d in days},
            f"{DISCARDED_BY}{manifest_id}",
            at,
            f"held candidates discarded: {why}",
        )


def unreported_changes(
    warehouse: Warehouse, after_seq: int, limit: int = 500
) -> tuple[list[UnreportedChange], int]:
    """The held publishes, rollbacks and discards logged after `after_seq` whose version is
    still the current one (a later publish reported itself; for a discard, the day's live
    version then, or still none), and the last sequence number looked at."""
    rows = warehouse.fetchall(
        "SELECT l.seq, l.table_name, l.business_date, l.action, l.version_id, v.row_count, "
        "v.run_id, c.version_id, l.run_id, v.manifest_id "
        f"FROM {PUBLISH_LOG.name} AS l "
        f"LEFT JOIN {PARTITION_VERSIONS.name} AS v ON v.version_id = l.version_id "
        f"LEFT JOIN {CURRENT_VERSIONS.name} AS c "
        "ON c.table_name = l.table_name AND c.business_date = l.business_date "
        "WHERE l.seq > ? AND (l.action IN ('rollback', ?) OR l.note = ?) ORDER BY l.seq "
        f"LIMIT {int(limit)}",
        [after_seq, DISCARD, HELD_PUBLISH_NOTE],
    )
    last = max((int(row[0]) for row in rows), default=after_seq)
    changes = [
        UnreportedChange(
            int(seq),
            table,
            d,
            action,
            version or "",
            int(count or 0),
            run_id or "",
            logged_by.removeprefix(DISCARDED_BY) if action == DISCARD else manifest or "",
        )
        for seq, table, d, action, version, count, run_id, current, logged_by, manifest in rows
        if version == current and (version is not None or action == DISCARD)
    ]
    return changes, last


@dataclass(frozen=True)
class ManifestVersion:
    """A version a backfill's runs published, in publish order (`seq`)."""

    table_name: str
    business_date: date
    version_id: str
    replaced_version_id: str | None
    row_count: int
    run_id: str
    seq: int


def manifest_versions(warehouse: Warehouse, manifest_id: str) -> list[ManifestVersion]:
    rows = warehouse.fetchall(
        "SELECT v.table_name, v.business_date, v.version_id, v.replaced_version_id, "
        "v.row_count, v.run_id, l.seq "
        f"FROM {PARTITION_VERSIONS.name} AS v "
        f"JOIN {PUBLISH_LOG.name} AS l ON l.version_id = v.version_id "
        "AND l.action = 'publish' "
        "WHERE v.manifest_id = ? ORDER BY l.seq",
        [manifest_id],
    )
    return [ManifestVersion(*row) for row in rows]


def current_successors(
    warehouse: Warehouse,
    table_name: str,
    predecessor_ids: Iterable[str],
    outside: Sequence[date],
    manifest_id: str,
) -> list[date]:
    """Dates outside `outside` whose current version opened from one of `predecessor_ids`
    and that another manifest (or the daily lane) published."""
    ids, id_params = bound(sorted(set(predecessor_ids)))
    dates, date_params = bound(sorted(outside))
    rows = warehouse.fetchall(
        "SELECT c.business_date FROM "
        f"{CURRENT_VERSIONS.name} AS c JOIN {PARTITION_VERSIONS.name} "
        "AS v ON v.version_id = c.version_id "
        f"WHERE c.table_name = ? AND v.predecessor_version_id IN ({ids}) "
        f"AND c.business_date NOT IN ({dates}) AND v.manifest_id IS DISTINCT FROM ?",
        [table_name, *id_params, *date_params, manifest_id],
    )
    return [row[0] for row in rows]
