"""What ended a published version's time as a day's live state, read from the publish log: a
rollback, or a later publish (another backfill's, or a run's), so a report can tell them apart."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from finsight_assets.lib.engines.warehouse import Warehouse
from finsight_assets.lib.wap.audit_tables import PARTITION_VERSIONS, PUBLISH_LOG

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
