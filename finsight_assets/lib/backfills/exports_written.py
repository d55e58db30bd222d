"""The partner files written outside a run (an approved held publish, a rollback), read back
from the manifests' events in the order they were recorded, for Dagster to be told of them."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from finsight_assets.lib.backfills import events
from finsight_assets.lib.backfills.store import EVENTS
from finsight_assets.lib.engines.warehouse import Warehouse

# The event that writes partner files outside a run, the field that names them, and why.
WRITTEN_BY = {
    events.PUBLISHED_HELD: ("exports", "written on approval of the held publish"),
    events.ROLLED_BACK: ("exports_superseded", "written again from the rows a rollback restored"),
}


@dataclass(frozen=True)
class ExportsWritten:
    """One event's partner files: which manifest, why, and the files."""

    seq: int
    manifest_id: str
    why: str
    files: Sequence[str]


def exports_written_after(warehouse: Warehouse, after: int) -> tuple[list[ExportsWritten], int]:
    """The events after sequence number `after` that wrote partner files, and the last
    sequence number read (`after` when there is none)."""
    kinds = sorted(WRITTEN_BY)
    marks = ", ".join("?" for _ in kinds)
    rows = warehouse.fetchall(
        f"SELECT seq, manifest_id, event, fields FROM {EVENTS} "
        f"WHERE seq > ? AND event IN ({marks}) ORDER BY seq",
        [after, *kinds],
    )
    written = []
    for seq, manifest_id, event, fields in rows:
        field, why = WRITTEN_BY[event]
        files = json.loads(fields).get(field) or []
        if files:
            written.append(ExportsWritten(int(seq), manifest_id, why, tuple(files)))
    return written, max([after, *(int(row[0]) for row in rows)])
