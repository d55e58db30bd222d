"""What the Dagster webserver answers (`webserver.py`), as plain values: backfills, their
progress per asset, runs."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class PartitionRange:
    asset: Sequence[str]
    start: str
    end: str


@dataclass(frozen=True)
class AssetProgress:
    asset: str
    targeted: int
    in_progress: int
    materialized: int
    failed: int


# A run in one of these has stopped for good.
FINISHED_RUN_STATUSES = frozenset({"SUCCESS", "FAILURE", "CANCELED"})


@dataclass(frozen=True)
class RunSummary:
    run_id: str
    status: str
    start_time: float | None
    end_time: float | None
    tags: Mapping[str, str]


@dataclass(frozen=True)
class BackfillState:
    backfill_id: str
    status: str
    assets: list[AssetProgress]
    runs: list[RunSummary]
    tags: Mapping[str, str]


@dataclass(frozen=True)
class BackfillSummary:
    backfill_id: str
    status: str
    created: float
    tags: Mapping[str, str]


def tags_of(entries: Iterable[Mapping[str, str]] | None) -> dict[str, str]:
    """GraphQL's tag entries ({key, value}) as a mapping."""
    return {t["key"]: t["value"] for t in entries or []}


def run_summary(data: Mapping[str, Any]) -> RunSummary:
    return RunSummary(
        run_id=data["runId"],
        status=data["status"],
        start_time=data.get("startTime"),
        end_time=data.get("endTime"),
        tags=tags_of(data.get("tags")),
    )


def backfill_state(result: Mapping[str, Any]) -> BackfillState:
    """A PartitionBackfill's status, progress per asset and runs."""
    statuses = (result.get("assetBackfillData") or {}).get("assetBackfillStatuses") or []
    return BackfillState(
        backfill_id=result["id"],
        status=result["status"],
        assets=[
            AssetProgress(
                asset=".".join(s["assetKey"]["path"]),
                targeted=s["numPartitionsTargeted"],
                in_progress=s["numPartitionsInProgress"],
                materialized=s["numPartitionsMaterialized"],
                failed=s["numPartitionsFailed"],
            )
            for s in statuses
            if s["__typename"] == "AssetPartitionsStatusCounts"
        ],
        runs=[run_summary(r) for r in result.get("runs") or []],
        tags=tags_of(result.get("tags")),
    )
