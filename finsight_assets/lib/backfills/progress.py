"""How far a launched backfill has come: partitions published, failed and in flight, rows, time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from finsight_assets.lib.backfills import events
from finsight_assets.lib.backfills.context import BackfillContext
from finsight_assets.lib.backfills.export_scope import exports_done
from finsight_assets.lib.backfills.manifests import BackfillError
from finsight_assets.lib.backfills.versions import held, partitions_of, published_versions
from finsight_assets.lib.contract.run_tags import DRY_RUN
from finsight_assets.lib.engines.webserver import BackfillState

TERMINAL_BACKFILL_STATES = frozenset(
    {"COMPLETED", "COMPLETED_SUCCESS", "COMPLETED_FAILED", "FAILED", "CANCELED", "CANCELLED"}
)
# Ended with every targeted partition computed.
COMPLETED_BACKFILL_STATES = frozenset({"COMPLETED", "COMPLETED_SUCCESS"})


@dataclass(frozen=True)
class Progress:
    manifest_id: str
    backfills: list[BackfillState]
    targeted: int
    done: int
    failed: int
    in_progress: int
    rows_published: int
    elapsed_seconds: float
    finished: bool

    @property
    def pending(self) -> int:
        return max(self.targeted - self.done - self.failed, 0)

    @property
    def rows_per_second(self) -> float:
        return self.rows_published / self.elapsed_seconds if self.elapsed_seconds > 0 else 0.0

    @property
    def eta_seconds(self) -> float | None:
        if self.finished:
            return 0.0
        if self.done == 0 or self.elapsed_seconds <= 0:
            return None
        return self.pending * self.elapsed_seconds / self.done

    def to_json(self) -> dict[str, Any]:
        return {
            "manifest_id": self.manifest_id,
            "backfills": [
                {"id": b.backfill_id, "status": b.status, "runs": len(b.runs)}
                for b in self.backfills
            ],
            "partitions": {
                "targeted": self.targeted,
                "done": self.done,
                "failed": self.failed,
                "in_progress": self.in_progress,
                "pending": self.pending,
            },
            "rows_published": self.rows_published,
            "elapsed_seconds": round(self.elapsed_seconds, 1),
            "rows_per_second": round(self.rows_per_second, 1),
            "eta_seconds": None if self.eta_seconds is None else round(self.eta_seconds, 1),
            "finished": self.finished,
        }


def progress(ctx: BackfillContext, manifest_id: str) -> Progress:
    manifest = ctx.store.get(manifest_id)
    states = [ctx.webserver.backfill(b) for b in ctx.store.backfill_ids(manifest_id)]
    if not states:
        raise BackfillError(f"{manifest_id} has not been launched")
    latest = states[-1]
    # The whole scope: warehouse days (their versions) and export days (their runs).
    targeted = sum(r.days for r in manifest.ranges)
    versions = published_versions(ctx, manifest_id)
    if manifest.mode == DRY_RUN:
        done = sum(a.materialized for a in latest.assets)
    else:
        done = len(partitions_of(versions, held(ctx, manifest_id)))
        done += len(exports_done(ctx, manifest, states))
    launched = [
        datetime.fromisoformat(e["at"])
        for e in ctx.store.events(manifest_id)
        if e["event"] in events.STARTS_RUNS
    ]
    return Progress(
        manifest_id=manifest_id,
        backfills=states,
        targeted=targeted,
        done=min(done, targeted) if targeted else done,
        failed=sum(a.failed for a in latest.assets),
        in_progress=sum(a.in_progress for a in latest.assets),
        rows_published=sum(v.row_count for v in versions),
        elapsed_seconds=(ctx.clock() - launched[0]).total_seconds() if launched else 0.0,
        finished=all(s.status in TERMINAL_BACKFILL_STATES for s in states),
    )
