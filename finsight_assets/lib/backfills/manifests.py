"""Backfill manifests: immutable plans on disk, with append-only approvals and events beside them.

A manifest file is written once (`<id>.json`, exclusive create) and never changed; what happens
to it later (approvals, launches, retries, cancellations, rollbacks, failures) is appended to
`<id>.approvals.jsonl` and `<id>.events.jsonl`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

BACKFILL, DRY_RUN = "BACKFILL", "DRY_RUN"

# The approval matrix (DESIGN.md): how many approvers a backfill of N requested days needs.
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

    @property
    def requested_days(self) -> int:
        return (self.requested_end - self.requested_start).days + 1

    def to_json(self) -> dict[str, Any]:
        return json.loads(json.dumps(asdict(self), default=_json_default))

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


def _json_default(value: object) -> str:
    if isinstance(value, date | datetime):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {value!r}")


class ManifestStore:
    """Manifests under one folder (`$FINSIGHT_HOME/manifests`)."""

    def __init__(self, root: Path):
        self.root = root

    def _path(self, manifest_id: str, suffix: str) -> Path:
        if not manifest_id or not all(ch.isalnum() or ch in "-_" for ch in manifest_id):
            raise ManifestError(f"not a manifest id: {manifest_id!r}")
        return self.root / f"{manifest_id}{suffix}"

    def create(self, manifest: Manifest) -> Manifest:
        """Write the manifest once; a second write of the same id fails."""
        self.root.mkdir(parents=True, exist_ok=True)
        path = self._path(manifest.id, ".json")
        payload = json.dumps(manifest.to_json(), indent=2, sort_keys=True)
        with open(path, "x", encoding="utf-8") as handle:
            handle.write(payload + "\n")
        os.chmod(path, 0o444)
        return manifest

    def exists(self, manifest_id: str) -> bool:
        return self._path(manifest_id, ".json").is_file()

    def get(self, manifest_id: str) -> Manifest:
        path = self._path(manifest_id, ".json")
        if not path.is_file():
            raise ManifestError(f"no manifest {manifest_id} under {self.root}")
        return Manifest.from_json(json.loads(path.read_text(encoding="utf-8")))

    def list(self) -> list[Manifest]:
        if not self.root.is_dir():
            return []
        manifests = [self.get(path.stem) for path in self.root.glob("*.json")]
        return sorted(manifests, key=lambda m: (m.created_at, m.id))

    def _append(self, manifest_id: str, suffix: str, record: Mapping[str, Any]) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self._path(manifest_id, suffix), "a", encoding="utf-8") as handle:
            handle.write(json.dumps(dict(record), default=_json_default, sort_keys=True) + "\n")

    def _read(self, manifest_id: str, suffix: str) -> list[dict[str, Any]]:
        path = self._path(manifest_id, suffix)
        if not path.is_file():
            return []
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]

    def approve(self, manifest_id: str, by: str, at: datetime) -> list[dict[str, Any]]:
        """Record an approval; the requester and repeated approvers do not count."""
        manifest = self.get(manifest_id)
        name = by.strip()
        if not name:
            raise ManifestError("an approval needs the approver's name")
        if name == manifest.requested_by:
            raise ManifestError(f"{name} requested {manifest_id} and cannot approve it")
        if any(a["by"] == name for a in self.approvals(manifest_id)):
            raise ManifestError(f"{name} has already approved {manifest_id}")
        self._append(manifest_id, ".approvals.jsonl", {"by": name, "at": at})
        self.record(manifest_id, "approved", at, by=name)
        return self.approvals(manifest_id)

    def approvals(self, manifest_id: str) -> list[dict[str, Any]]:
        return self._read(manifest_id, ".approvals.jsonl")

    def is_approved(self, manifest_id: str) -> bool:
        return len(self.approvals(manifest_id)) >= self.get(manifest_id).approvals_required

    def record(self, manifest_id: str, event: str, at: datetime, **fields: Any) -> None:
        self._append(manifest_id, ".events.jsonl", {"event": event, "at": at, **fields})

    def events(self, manifest_id: str) -> list[dict[str, Any]]:
        return self._read(manifest_id, ".events.jsonl")

    def backfill_ids(self, manifest_id: str) -> list[str]:
        """The Dagster backfills launched for this manifest, first launch first."""
        ids = [e["backfill_id"] for e in self.events(manifest_id) if e.get("backfill_id")]
        return list(dict.fromkeys(ids))

    def find_by_backfill(self, backfill_id: str) -> Manifest | None:
        for manifest in self.list():
            if manifest.dagster_backfill_id == backfill_id or backfill_id in self.backfill_ids(
                manifest.id
            ):
                return manifest
        return None

    def status(self, manifest_id: str) -> str:
        """planned, approved, launched, cancelled or rolled_back: the latest lifecycle step."""
        events = [e["event"] for e in self.events(manifest_id)]
        for state in ("rolled_back", "cancelled"):
            if state in events:
                return state
        if any(e in ("launched", "retried") for e in events):
            return "launched"
        return "approved" if self.is_approved(manifest_id) else "planned"
