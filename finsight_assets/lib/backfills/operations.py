"""Backfills as operations: the `Backfills` of one FinSight home, and how to open it.

Each operation lives in a module of its own (`plan.py`, `launch.py`, `approval.py`,
`progress.py`, `rollback.py`, `evidence.py`) and takes the data-only `BackfillContext`
(`context.py`); `Backfills` is that context with the operations as methods: the facade the
`finsight backfill` command, the sensors and the demo call. Nothing in lib/backfills imports it.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from finsight_assets.lib.backfills import (
    approval,
    evidence,
    history,
    launch,
    lifecycle,
    plan,
    progress,
    rollback,
    versions,
)
from finsight_assets.lib.backfills.context import BackfillContext
from finsight_assets.lib.backfills.identity import identity_of
from finsight_assets.lib.backfills.manifests import AssetRange, Manifest
from finsight_assets.lib.backfills.planning import pipeline_config
from finsight_assets.lib.backfills.report.model import BackfillEvidence
from finsight_assets.lib.backfills.store import ManifestStore
from finsight_assets.lib.engines.duckdb_warehouse import LOCK_ATTEMPTS, duckdb_connector
from finsight_assets.lib.engines.lake import Lake, LocalLake
from finsight_assets.lib.engines.warehouse import Connect
from finsight_assets.lib.engines.webserver import DagsterWebserver
from finsight_assets.lib.settings import REPOSITORY_ROOT, Settings
from finsight_assets.lib.wap.held_publish import HeldPublish
from finsight_assets.lib.wap.held_versions import HeldVersion
from finsight_assets.lib.wap.publish_history import ManifestVersion


@dataclass(frozen=True)
class Backfills(BackfillContext):
    """The backfill operations of one FinSight home."""

    def published_versions(self, manifest_id: str) -> list[ManifestVersion]:
        """What the backfill's runs have published, in publish order."""
        return versions.published_versions(self, manifest_id)

    def plan(self, **request: Any) -> Manifest:
        """Scope, estimate and write an immutable manifest; nothing runs yet (see plan.plan)."""
        return plan.plan(self, **request)

    def held(self, manifest_id: str) -> list[HeldVersion]:
        """The versions the backfill holds for approval."""
        return versions.held(self, manifest_id)

    def evidence_digest(self, manifest_id: str) -> str | None:
        """What an approval names: the manifest and the versions it holds (None: none)."""
        return versions.evidence_digest(self, manifest_id)

    def approvals(self, manifest_id: str) -> list[dict[str, Any]]:
        """The approvals of the evidence held now, or, once published, of the evidence the
        held publish published (who approved which digest, and when)."""
        return self.store.approvals_given(manifest_id, self.evidence_digest(manifest_id))

    def approve(self, manifest_id: str, by: str | None, digest: str) -> approval.Approval:
        """Approve the held evidence `digest` as the acting person (`identity`); the last
        approval the matrix asks for publishes it."""
        return approval.approve(self, manifest_id, by, digest)

    def publish_held(self, manifest_id: str, by: str | None = None) -> HeldPublish:
        return approval.publish(self, manifest_id, by)

    def reject(self, manifest_id: str, by: str | None, reason: str) -> int:
        return approval.reject(self, manifest_id, by, reason)

    def launch(self, manifest_id: str, by: str | None = None) -> str:
        return launch.launch(self, manifest_id, by)

    def retry(self, manifest_id: str, by: str | None = None) -> str:
        return launch.retry(self, manifest_id, by)

    def complete(self, manifest_id: str, by: str | None = None) -> str | None:
        return launch.complete(self, manifest_id, by)

    def cancel(self, manifest_id: str, by: str | None = None) -> list[str]:
        return launch.cancel(self, manifest_id, by)

    def failed_ranges(self, manifest_id: str) -> list[AssetRange]:
        return versions.failed_ranges(self, manifest_id)

    def progress(self, manifest_id: str) -> progress.Progress:
        return progress.progress(self, manifest_id)

    def stage(self, manifest_id: str) -> str:
        """Where the backfill is in its life (see lifecycle.py)."""
        return self.standing(manifest_id).stage

    def standing(self, manifest_id: str) -> lifecycle.Standing:
        """Its stage and the evidence digest of what it holds."""
        return lifecycle.standing(self, manifest_id)

    def rollback(
        self, manifest_id: str, *, force: bool = False, by: str | None = None
    ) -> dict[str, dict[str, Any]]:
        return rollback.rollback(self, manifest_id, force=force, by=by)

    def prune_history(
        self, older_than_days: int, *, dry_run: bool = False, by: str | None = None
    ) -> history.Pruned:
        """Delete the history rows no rollback could need (see history.py), as `by`."""
        return history.prune_history(self, older_than_days, dry_run=dry_run, by=by)

    def evidence(self, manifest_id: str) -> BackfillEvidence:
        return evidence.evidence(self, manifest_id)


def git_commit(repository: Path) -> str:
    """The commit the code was planned on ("unknown" outside a git checkout)."""
    try:
        done = subprocess.run(
            ["git", "-C", str(repository), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return done.stdout.strip() or "unknown"


def open_backfills(
    settings: Settings,
    clock: Callable[[], datetime],
    lock_attempts: int = LOCK_ATTEMPTS,
    lake: Lake | None = None,
    connect: Connect | None = None,
    read: Connect | None = None,
) -> Backfills:
    """The backfill operations of `settings`' home, against its webserver.

    The lake and warehouse are the embedded default's unless given (production passes its
    S3 lake and Snowflake warehouse). The manifests live in that warehouse, and there, in
    production, the session says who acts.
    """
    connect = connect or duckdb_connector(settings.warehouse_path, lock_attempts)
    read = read or connect
    return Backfills(
        store=ManifestStore(connect, read),
        identity=identity_of(settings.warehouse_kind, connect),
        lake=lake or LocalLake(settings.lake),
        connect=connect,
        read=read,
        webserver=DagsterWebserver(settings.webserver_url),
        clock=clock,
        first_business_date=settings.start_date,
        days_per_run=settings.backfill_days_per_run,
        git_commit=git_commit(REPOSITORY_ROOT),
        config=pipeline_config(settings),
    )
