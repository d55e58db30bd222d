"""What ended a published version's time as a day's live state, read from the publish log: a
rollback, or a later publish (another backfill's, or a run's), so a report can tell them apart."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from finsight_assets.lib.engines.warehouse import Warehouse
from finsight_assets.lib.wap.audit_tables import PARTITION_VERSIONS, PUBLISH_LOG
from finsight_assets.lib.wap.publish_history import ManifestVersion
from finsight_assets.lib.wap.versions import all_current_versions

ROLLBACK_ACTION = "rollback"


@dataclass(frozen=True)
class Successor:
    """The first publish-log entry after a version of the manifest went live on its day:
    `rolled_back`, or published by `manifest_id` (None: a run outside any backfill, `run_id`)."""

    rolled_back: bool
    manifest_id: str | None
    run_id: str

    @property
    def by(self) -> str:
        """The later backfill's manifest id, or the run that published outside any backfill."""
        return self.manifest_id or self.run_id


def successors(warehouse: Warehouse, manifest_id: str) -> dict[tuple[str, date, str], Successor]:
    """Per (table, business date, version id) the manifest published and no longer current:
    the first publish or rollback logged on that day after the version's last publish."""
    rows = warehouse.fetchall(
        "WITH mine AS ("
        "  SELECT v.table_name, v.business_date, v.version_id, MAX(p.seq) AS seq "
        f"  FROM {PARTITION_VERSIONS.name} AS v "
        f"  JOIN {PUBLISH_LOG.name} AS p ON p.version_id = v.version_id "
        "  WHERE v.manifest_id = ? GROUP BY v.table_name, v.business_date, v.version_id"
        "), later AS ("
        "  SELECT m.table_name, m.business_date, m.version_id, l.action, l.run_id, "
        "  n.manifest_id, ROW_NUMBER() OVER ("
        "    PARTITION BY m.table_name, m.business_date, m.version_id ORDER BY l.seq) AS nth "
        f"  FROM mine AS m JOIN {PUBLISH_LOG.name} AS l "
        "  ON l.table_name = m.table_name AND l.business_date = m.business_date "
        "  AND l.seq > m.seq "
        f"  LEFT JOIN {PARTITION_VERSIONS.name} AS n ON n.version_id = l.version_id"
        ") SELECT table_name, business_date, version_id, action, run_id, manifest_id "
        "FROM later WHERE nth = 1",
        [manifest_id],
    )
    return {
        (table, day, version): Successor(action == ROLLBACK_ACTION, by_manifest, run_id)
        for table, day, version, action, run_id, by_manifest in rows
    }


@dataclass(frozen=True)
class Fate:
    """Where a published version stands now: live, rolled back, or replaced by a later publish
    (`replaced_by`: that backfill's manifest id, or with `replaced_by_run` the run's id)."""

    rolled_back: bool = False
    replaced_by: str | None = None
    replaced_by_run: bool = False

    @property
    def live(self) -> bool:
        return not self.rolled_back and self.replaced_by is None


def fates(
    warehouse: Warehouse, manifest_id: str, published: Iterable[ManifestVersion]
) -> dict[tuple[str, date, str], Fate]:
    """Per (table, business date, version id) of the manifest's published versions, its fate:
    live while current; otherwise what the publish log says took its day (a version gone with
    nothing logged after it reads rolled back, as it did before the log was read)."""
    current = all_current_versions(warehouse)
    since = successors(warehouse, manifest_id)
    answer = {}
    for v in published:
        key = (v.table_name, v.business_date, v.version_id)
        successor = since.get(key)
        if current.get((v.table_name, v.business_date)) == v.version_id:
            answer[key] = Fate()
        elif successor is None or successor.rolled_back:
            answer[key] = Fate(rolled_back=True)
        else:
            answer[key] = Fate(False, successor.by, successor.manifest_id is None)
    return answer
