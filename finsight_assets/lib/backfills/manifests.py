"""Backfill manifests: the immutable plan of a backfill, and the approval matrix it is held to.

Where manifests are kept, with their approvals and events, is `store.py`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any

from finsight_assets.lib.contract.run_tags import (
    BACKFILL_LANE,
    BACKFILL_PRIORITY,
    LANE_TAG,
    MANIFEST_TAG,
    MODE_TAG,
    PRIORITY_TAG,
    SIDE_EFFECTS_TAG,
)

# The approval matrix (docs/backfills.md): how many approvers a backfill that changes N days
# needs (what it counts: `matrix.py`).
NO_APPROVAL_BELOW_DAYS = 7
ONE_APPROVER_UP_TO_DAYS = 30


def approvals_required(days: int) -> int:
    """Under 7 days: none; 7 to 30: one approver; over 30: two."""
    if days < NO_APPROVAL_BELOW_DAYS:
        return 0
    if days <= ONE_APPROVER_UP_TO_DAYS:
        return 1
    return 2


class ManifestError(ValueError):
    """A manifest operation that is not allowed (unknown id, self-approval, not approved...)."""


class BackfillError(RuntimeError):
    """A backfill operation refused, with what to do instead."""


@dataclass(frozen=True)
class AssetRange:
    asset: str
    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


@dataclass(frozen=True)
class Estimate:
    partitions: int
    raw_rows: int
    raw_bytes: int
    seconds: float
    vcpu_hours: float
    cost_usd: str
    rows_per_second: float
    basis: str


@dataclass(frozen=True)
class Manifest:
    """What a backfill will do, and everything it was planned and approved on."""

    id: str
    created_at: datetime
    reason: str
    requested_by: str
    mode: str
    source: str
    requested_start: date
    requested_end: date
    ranges: tuple[AssetRange, ...]
    input_versions: Mapping[str, Mapping[str, str]]
    code_versions: Mapping[str, str]
    git_commit: str
    config_hash: str
    fx_version: str
    publish_policy: str
    side_effects_allowed: bool
    limits: Mapping[str, int]
    estimate: Estimate | None
    approvals_required: int
    dagster_backfill_id: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def run_tags(self) -> dict[str, str]:
        """The tags its runs carry: the manifest, the backfill lane, its mode and side effects
        (what the runs are admitted on: `admission.py`)."""
        return {
            MANIFEST_TAG: self.id,
            LANE_TAG: BACKFILL_LANE,
            PRIORITY_TAG: BACKFILL_PRIORITY,
            MODE_TAG: self.mode,
            SIDE_EFFECTS_TAG: "true" if self.side_effects_allowed else "false",
        }

    @property
    def requested_days(self) -> int:
        return (self.requested_end - self.requested_start).days + 1

    def to_json(self) -> dict[str, Any]:
        return json.loads(json.dumps(asdict(self), default=json_default))

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Manifest:
        values = dict(data)
        values["created_at"] = datetime.fromisoformat(values["created_at"])
        values["requested_start"] = date.fromisoformat(values["requested_start"])
        values["requested_end"] = date.fromisoformat(values["requested_end"])
        values["ranges"] = tuple(
            AssetRange(r["asset"], date.fromisoformat(r["start"]), date.fromisoformat(r["end"]))
            for r in values["ranges"]
        )
        values["estimate"] = Estimate(**values["estimate"]) if values.get("estimate") else None
        return cls(**values)


def json_default(value: object) -> str:
    if isinstance(value, date | datetime):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {value!r}")
