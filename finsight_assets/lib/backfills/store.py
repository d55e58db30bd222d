"""Where manifests live: one folder per FinSight home, each manifest written once, with
append-only approvals and events beside it.

A manifest file is written once (`<id>.json`, exclusive create) and never changed; what happens
to it later (approvals, launches, retries, cancellations, rollbacks, failures) is appended to
`<id>.approvals.jsonl` and `<id>.events.jsonl`.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from finsight_assets.lib.backfills.manifests import Manifest, ManifestError, json_default
from finsight_assets.lib.contract.run_tags import is_manifest_id

logger = logging.getLogger(__name__)


class ManifestStore:
    """Manifests under one folder (`$FINSIGHT_HOME/manifests`)."""

    def __init__(self, root: Path):
        self.root = root

    def _path(self, manifest_id: str, suffix: str) -> Path:
        if not is_manifest_id(manifest_id):
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
        """Every manifest in the store; a file that is not one is skipped with a warning."""
        if not self.root.is_dir():
            return []
        manifests = []
        for path in sorted(self.root.glob("*.json")):
            try:
                manifests.append(self.get(path.stem))
            except (ManifestError, ValueError, KeyError, TypeError) as error:
                logger.warning("%s is not a manifest, skipped: %s", path, error)
        return sorted(manifests, key=lambda m: (m.created_at, m.id))

    def _append(self, manifest_id: str, suffix: str, record: Mapping[str, Any]) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self._path(manifest_id, suffix), "a", encoding="utf-8") as handle:
            handle.write(json.dumps(dict(record), default=json_default, sort_keys=True) + "\n")

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

    def status(self, manifest_id: str) -> str:
        """planned, approved, launched, cancelled or rolled_back: the latest lifecycle step."""
        events = [e["event"] for e in self.events(manifest_id)]
        for state in ("rolled_back", "cancelled"):
            if state in events:
                return state
        if any(e in ("launched", "retried") for e in events):
            return "launched"
        return "approved" if self.is_approved(manifest_id) else "planned"
