"""Backfills as operations: plan, approve, launch, monitor, retry, cancel, report, roll back.

Plain Python over the manifest store, the warehouse and the Dagster webserver's GraphQL API; the
`finsight backfill` command and the sensors are thin callers of this module.
"""

from __future__ import annotations

import json
import math
import subprocess
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from finsight_assets.lib.backfills.manifests import (
    BACKFILL,
    DRY_RUN,
    AssetRange,
    Manifest,
    ManifestStore,
    approvals_required,
)
from finsight_assets.lib.backfills.planning import (
    Prices,
    config_hash,
    contiguous_runs,
    days_between,
    estimate,
    fx_version,
    latest_published,
    measured_rows_per_second,
    raw_input_versions,
    scope,
    stale_partitions,
)
from finsight_assets.lib.backfills.report import (
    BackfillEvidence,
    CheckEvidence,
    PartitionEvidence,
    RunTiming,
)
from finsight_assets.lib.backfills.webserver import BackfillState, DagsterWebserver, PartitionRange
from finsight_assets.lib.contract.code_versions import CODE_VERSIONS
from finsight_assets.lib.contract.lineage import SELF_DEPENDENT, SILVER_AND_GOLD, UPSTREAM
from finsight_assets.lib.contract.run_tags import (
    BACKFILL_LANE,
    BACKFILL_PRIORITY,
    LANE_TAG,
    MANIFEST_TAG,
    MODE_TAG,
    PRIORITY_TAG,
    SIDE_EFFECTS_TAG,
)
from finsight_assets.lib.contract.tables import TABLES_BY_NAME
from finsight_assets.lib.engines.lake import Lake, LocalLake
from finsight_assets.lib.engines.spark_config import BACKFILL_SPARK_CONFIG, LOCAL_SPARK_CONFIG
from finsight_assets.lib.engines.warehouse import (
    AUDIT_SCHEMA,
    LOCK_ATTEMPTS,
    date_list,
    duckdb_connector,
    string_literal,
)
from finsight_assets.lib.layers.silver import Connect
from finsight_assets.lib.settings import REPOSITORY_ROOT, Settings
from finsight_assets.lib.wap import publish
from finsight_assets.lib.wap.publish import RunInfo

TERMINAL_BACKFILL_STATES = {
    "COMPLETED",
    "COMPLETED_SUCCESS",
    "COMPLETED_FAILED",
    "FAILED",
    "CANCELED",
    "CANCELLED",
}


class BackfillError(RuntimeError):
    """A backfill operation refused, with what to do instead."""


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


@dataclass
class Backfills:
    """The backfill operations of one FinSight home."""

    store: ManifestStore
    lake: Lake
    connect: Connect
    webserver: DagsterWebserver
    clock: Callable[[], datetime]
    first_business_date: date
    days_per_run: int | None
    git_commit: str
    config: Mapping[str, Any]
    prices: Prices = Prices()

    # -- plan -------------------------------------------------------------------------------

    def plan(
        self,
        *,
        reason: str,
        requested_by: str,
        start: date | None = None,
        end: date | None = None,
        assets: Sequence[str] | None = None,
        dry_run: bool = False,
        stale_code: bool = False,
        allow_side_effects: bool = False,
        source: str = "cli",
        manifest_id: str | None = None,
        dagster_backfill_id: str | None = None,
        requested_dates: Mapping[str, Sequence[date]] | None = None,
    ) -> Manifest:
        """Scope, estimate and write an immutable manifest; nothing runs yet."""
        if not reason.strip() or not requested_by.strip():
            raise BackfillError("a backfill needs a --reason and a --requested-by")
        with self.connect() as warehouse:
            if requested_dates is not None:
                dates = {a: sorted(ds) for a, ds in requested_dates.items() if ds}
            elif stale_code:
                dates = self._stale_dates(warehouse, start, end)
            else:
                if start is None or end is None:
                    raise BackfillError("give --start and --end (or --stale-code)")
                selected = list(assets or SILVER_AND_GOLD)
                unknown = [a for a in selected if a not in UPSTREAM]
                if unknown:
                    raise BackfillError(
                        f"unknown asset(s) {', '.join(unknown)}; choose from {', '.join(UPSTREAM)}"
                    )
                dates = {asset: days_between(start, end) for asset in selected}
            if not dates:
                raise BackfillError("nothing to backfill: no partition selected")
            every = sorted({d for ds in dates.values() for d in ds})
            if every[0] < self.first_business_date:
                raise BackfillError(
                    f"{every[0]} is before the first business date {self.first_business_date}"
                )
            ranges = scope(list(dates), dates, latest_published(warehouse))
            rate = measured_rows_per_second(warehouse)
        impacted = sorted({d for r in ranges for d in days_between(r.start, r.end)})
        inputs = raw_input_versions(self.lake, impacted)
        raw_dates = sorted({d for a, ds in dates.items() if a.startswith("silver.") for d in ds})
        runs = math.ceil(len(impacted) / self.days_per_run) if self.days_per_run else 1
        created = self.clock()
        manifest = Manifest(
            id=manifest_id or f"bf-{created:%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}",
            created_at=created,
            reason=reason.strip(),
            requested_by=requested_by.strip(),
            mode=DRY_RUN if dry_run else BACKFILL,
            source=source,
            requested_start=every[0],
            requested_end=every[-1],
            ranges=ranges,
            input_versions=inputs,
            code_versions=dict(CODE_VERSIONS),
            git_commit=self.git_commit,
            config_hash=config_hash(self.config),
            fx_version=fx_version(inputs),
            publish_policy="write-audit-publish: one transaction per run and table, "
            "blocking checks before publish, replaced versions kept for rollback",
            side_effects_allowed=allow_side_effects,
            limits={
                "days_per_run": self.days_per_run or len(impacted),
                "max_concurrent_backfill_runs": 2,
            },
            estimate=estimate(self.lake, raw_dates, rate, runs, self.prices),
            approvals_required=approvals_required(len(every)),
            dagster_backfill_id=dagster_backfill_id,
        )
        self.store.create(manifest)
        self.store.record(manifest.id, "planned", created, source=source)
        return manifest

    def _stale_dates(
        self, warehouse, start: date | None, end: date | None
    ) -> dict[str, list[date]]:
        stale = stale_partitions(warehouse, CODE_VERSIONS)
        return {
            table: [d for d in found if (start is None or d >= start) and (end is None or d <= end)]
            for table, found in stale.items()
            if any((start is None or d >= start) and (end is None or d <= end) for d in found)
        }

    # -- approve and launch -----------------------------------------------------------------

    def approve(self, manifest_id: str, by: str) -> list[dict[str, Any]]:
        return self.store.approve(manifest_id, by, self.clock())

    def launch(self, manifest_id: str) -> str:
        """Submit the manifest as a Dagster asset backfill on the backfill lane."""
        manifest = self.store.get(manifest_id)
        if not self.store.is_approved(manifest_id):
            given = len(self.store.approvals(manifest_id))
            raise BackfillError(
                f"{manifest_id} needs {manifest.approvals_required} approval(s) and has {given}: "
                f"finsight backfill approve {manifest_id} --by NAME"
            )
        if self.store.backfill_ids(manifest_id):
            raise BackfillError(f"{manifest_id} was launched already; use status, retry or cancel")
        backfill_id = self._submit(manifest, manifest.ranges, "launch")
        self.store.record(manifest_id, "launched", self.clock(), backfill_id=backfill_id)
        return backfill_id

    def _submit(self, manifest: Manifest, ranges: Iterable[AssetRange], what: str) -> str:
        tags = {
            MANIFEST_TAG: manifest.id,
            LANE_TAG: BACKFILL_LANE,
            PRIORITY_TAG: BACKFILL_PRIORITY,
            MODE_TAG: manifest.mode,
            SIDE_EFFECTS_TAG: "true" if manifest.side_effects_allowed else "false",
        }
        return self.webserver.launch_backfill(
            [
                PartitionRange(r.asset.split("."), r.start.isoformat(), r.end.isoformat())
                for r in ranges
            ],
            tags,
            title=f"{manifest.id} ({what})",
            description=manifest.reason,
        )

    # -- monitor ----------------------------------------------------------------------------

    def progress(self, manifest_id: str) -> Progress:
        manifest = self.store.get(manifest_id)
        states = [self.webserver.backfill(b) for b in self.store.backfill_ids(manifest_id)]
        if not states:
            raise BackfillError(f"{manifest_id} has not been launched")
        latest = states[-1]
        targeted = sum(r.days for r in manifest.ranges if r.asset in TABLES_BY_NAME)
        done = self._partitions_published(manifest_id)
        failed = sum(a.failed for a in latest.assets)
        in_progress = sum(a.in_progress for a in latest.assets)
        launched = [
            datetime.fromisoformat(e["at"])
            for e in self.store.events(manifest_id)
            if e["event"] in ("launched", "retried")
        ]
        finished = all(s.status in TERMINAL_BACKFILL_STATES for s in states)
        if manifest.mode == DRY_RUN:
            done = sum(a.materialized for a in latest.assets)
        return Progress(
            manifest_id=manifest_id,
            backfills=states,
            targeted=targeted,
            done=min(done, targeted) if targeted else done,
            failed=failed,
            in_progress=in_progress,
            rows_published=self._rows_published(manifest_id),
            elapsed_seconds=(self.clock() - launched[0]).total_seconds() if launched else 0.0,
            finished=finished,
        )

    def _versions(self, manifest_id: str) -> list[tuple]:
        with self.connect() as warehouse:
            return warehouse.fetchall(
                "SELECT v.table_name, v.business_date, v.version_id, v.replaced_version_id, "
                "v.row_count, v.run_id, l.seq "
                f"FROM {AUDIT_SCHEMA}.partition_versions AS v "
                f"JOIN {AUDIT_SCHEMA}.publish_log AS l ON l.version_id = v.version_id "
                "AND l.action = 'publish' "
                f"WHERE v.manifest_id = {string_literal(manifest_id)} ORDER BY l.seq"
            )

    def _partitions_published(self, manifest_id: str) -> int:
        return len({(t, d) for t, d, *_ in self._versions(manifest_id)})

    def _rows_published(self, manifest_id: str) -> int:
        return sum(int(row[4]) for row in self._versions(manifest_id))

    def failed_ranges(self, manifest_id: str) -> list[AssetRange]:
        """The manifest's warehouse partitions that no run of it has published, and, for the
        balance chain, every day from the earliest unpublished day it is computed from (a
        roll-forward may have published later days from the old silver)."""
        manifest = self.store.get(manifest_id)
        published = {(t, d) for t, d, *_ in self._versions(manifest_id)}
        missing: dict[str, set[date]] = {}
        for r in manifest.ranges:
            if r.asset in TABLES_BY_NAME:
                missing.setdefault(r.asset, set()).update(
                    d for d in days_between(r.start, r.end) if (r.asset, d) not in published
                )
        for r in manifest.ranges:
            if r.asset in SELF_DEPENDENT:
                upstream = [d for p in UPSTREAM[r.asset] for d in missing.get(p, ())]
                if upstream:
                    missing[r.asset].update(days_between(max(min(upstream), r.start), r.end))
        return [
            AssetRange(asset, a, b)
            for asset in UPSTREAM
            for a, b in contiguous_runs(missing.get(asset, ()))
        ]

    def retry(self, manifest_id: str) -> str:
        """Re-launch only the partitions that failed (not published), once the backfill ended."""
        manifest = self.store.get(manifest_id)
        if manifest.mode == DRY_RUN:
            raise BackfillError("a dry run publishes nothing; plan a new dry run instead")
        progress = self.progress(manifest_id)
        if not progress.finished:
            raise BackfillError(f"{manifest_id} is still running; wait or cancel it first")
        missing = self.failed_ranges(manifest_id)
        if not missing:
            raise BackfillError(f"{manifest_id} has no failed partition to retry")
        exports = sorted({r.asset for r in manifest.ranges if r.asset not in TABLES_BY_NAME})
        extra = [
            AssetRange(export, r.start, r.end)
            for export in exports
            for r in missing
            if r.asset in UPSTREAM[export]
        ]
        backfill_id = self._submit(manifest, [*missing, *extra], "retry")
        self.store.record(
            manifest_id,
            "retried",
            self.clock(),
            backfill_id=backfill_id,
            ranges=[{"asset": r.asset, "start": r.start, "end": r.end} for r in missing],
        )
        return backfill_id

    def cancel(self, manifest_id: str) -> list[str]:
        cancelled = []
        for backfill_id in self.store.backfill_ids(manifest_id):
            if self.webserver.backfill(backfill_id).status not in TERMINAL_BACKFILL_STATES:
                self.webserver.cancel_backfill(backfill_id)
                cancelled.append(backfill_id)
        self.store.record(manifest_id, "cancelled", self.clock(), backfill_ids=cancelled)
        return cancelled

    # -- roll back ----------------------------------------------------------------------------

    def rollback(self, manifest_id: str, *, force: bool = False) -> dict[str, dict[str, Any]]:
        """Restore every partition the backfill published to the version it replaced.

        One transaction per table; refuses if a later run republished one of the partitions
        (unless `force`), and records the rollback in the warehouse and the manifest's events.
        """
        self.store.get(manifest_id)
        first: dict[tuple[str, date], str | None] = {}
        last: dict[tuple[str, date], str] = {}
        foreign: list[tuple[str, date]] = []
        for table, d, version, replaced, *_ in self._versions(manifest_id):
            if (table, d) in last and replaced != last[(table, d)]:
                # Another run published between two of this backfill's versions (launch, then
                # retry): restoring the first replaced version would silently drop it.
                foreign.append((table, d))
            first.setdefault((table, d), replaced)
            last[(table, d)] = version
        if not last:
            raise BackfillError(f"{manifest_id} published nothing; there is nothing to roll back")
        run = RunInfo(
            run_id=f"rollback-{manifest_id}",
            mode=publish.BACKFILL,
            clock=self.clock(),
            manifest_id=manifest_id,
        )
        restored: dict[str, dict[str, Any]] = {}
        tables = sorted({t for t, _ in last}, key=lambda t: list(UPSTREAM).index(t), reverse=True)
        with self.connect() as warehouse:
            built_on = self._built_on_top(warehouse, manifest_id, last)
            problems = [f"{t} {d} (another run published in between)" for t, d in foreign]
            problems += [
                f"{t} {d} (computed on top of this backfill; recompute it after)"
                for t, d in built_on
            ]
            if problems and not force:
                raise BackfillError(
                    "rolling back would lose or contradict other runs' work: "
                    + ", ".join(problems)
                    + "; use --force to roll back anyway"
                )
            # Every table in one transaction: a refusal on one leaves all of them untouched.
            with warehouse.transaction():
                for table in tables:
                    targets = {d: (last[(t, d)], first[(t, d)]) for t, d in last if t == table}
                    back = publish.restore_in_transaction(
                        warehouse,
                        TABLES_BY_NAME[table],
                        targets,
                        run,
                        force=force,
                        note=f"rollback of backfill {manifest_id}",
                    )
                    restored[table] = {d.isoformat(): v for d, v in sorted(back.items())}
        self.store.record(
            manifest_id,
            "rolled_back",
            self.clock(),
            restored=restored,
            force=force,
            to_recompute=[{"asset": t, "date": d} for t, d in built_on],
        )
        return restored

    @staticmethod
    def _built_on_top(
        warehouse, manifest_id: str, rolled_back: Mapping[tuple[str, date], str]
    ) -> list[tuple[str, date]]:
        """Current partitions of self-dependent tables, outside the rollback, that opened from one
        of its versions (a daily run published the next day on top of the backfill)."""
        found = []
        for table in sorted({t for t, _ in rolled_back if t in SELF_DEPENDENT}):
            ids = ", ".join(string_literal(v) for (t, _), v in rolled_back.items() if t == table)
            dates = [d for t, d in rolled_back if t == table]
            rows = warehouse.fetchall(
                "SELECT c.business_date FROM "
                f"{AUDIT_SCHEMA}.current_versions AS c JOIN {AUDIT_SCHEMA}.partition_versions "
                "AS v ON v.version_id = c.version_id "
                f"WHERE c.table_name = {string_literal(table)} "
                f"AND v.predecessor_version_id IN ({ids}) "
                f"AND c.business_date NOT IN ({date_list(dates)}) "
                f"AND v.manifest_id IS DISTINCT FROM {string_literal(manifest_id)}"
            )
            found.extend((table, row[0]) for row in rows)
        return sorted(found)

    # -- evidence -----------------------------------------------------------------------------

    def evidence(self, manifest_id: str) -> BackfillEvidence:
        manifest = self.store.get(manifest_id)
        versions = self._versions(manifest_id)
        with self.connect() as warehouse:
            counts = dict(
                warehouse.fetchall(
                    f"SELECT version_id, row_count FROM {AUDIT_SCHEMA}.partition_versions"
                )
            )
            current = {
                (t, d): v
                for t, d, v in warehouse.fetchall(
                    f"SELECT table_name, business_date, version_id FROM "
                    f"{AUDIT_SCHEMA}.current_versions"
                )
            }
            checks: dict[tuple[str, date, str], list[tuple]] = {}
            run_ids = sorted({row[5] for row in versions})
            if run_ids:
                ids = ", ".join(string_literal(r) for r in run_ids)
                for row in warehouse.fetchall(
                    "SELECT table_name, business_date, run_id, check_name, passed, blocking, "
                    f"detail, metadata FROM {AUDIT_SCHEMA}.check_results WHERE run_id IN ({ids})"
                ):
                    checks.setdefault((row[0], row[1], row[2]), []).append(row)
        partitions = []
        for table, d, version, replaced, rows, run_id, _ in versions:
            found = checks.get((table, d, run_id), [])
            diff = next((json.loads(c[7]) for c in found if c[3] == "diff_against_published"), {})
            partitions.append(
                PartitionEvidence(
                    table=table,
                    business_date=d,
                    rows_before=counts.get(replaced) if replaced else None,
                    rows_after=int(rows),
                    added=diff.get("added"),
                    removed=diff.get("removed"),
                    changed=diff.get("changed"),
                    total_change=diff.get("total_change", {}),
                    checks=[CheckEvidence(c[3], bool(c[4]), bool(c[5]), c[6]) for c in found],
                    version_id=version,
                    replaced_version_id=replaced,
                    run_id=run_id,
                    rolled_back=current.get((table, d)) != version,
                )
            )
        return BackfillEvidence(
            manifest=manifest.to_json(),
            approvals=self.store.approvals(manifest_id),
            events=self.store.events(manifest_id),
            partitions=partitions,
            runs=self._run_timings(manifest_id),
        )

    def _run_timings(self, manifest_id: str) -> list[RunTiming]:
        timings = []
        for backfill_id in self.store.backfill_ids(manifest_id):
            for run in self.webserver.backfill(backfill_id).runs:
                timings.append(
                    RunTiming(
                        run_id=run.run_id,
                        status=run.status,
                        started_at=_from_epoch(run.start_time),
                        ended_at=_from_epoch(run.end_time),
                        partitions=_partition_count(run.tags),
                    )
                )
        return sorted(timings, key=lambda t: (t.started_at is None, t.started_at, t.run_id))


def _from_epoch(value: float | None) -> datetime | None:
    return datetime.fromtimestamp(value, tz=UTC) if value else None


def _partition_count(tags: Mapping[str, str]) -> int:
    start = tags.get("dagster/asset_partition_range_start")
    end = tags.get("dagster/asset_partition_range_end")
    if start and end:
        return (date.fromisoformat(end) - date.fromisoformat(start)).days + 1
    return 1 if tags.get("dagster/partition") else 0


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
    webserver_url: str,
    clock: Callable[[], datetime],
    lock_attempts: int = LOCK_ATTEMPTS,
    lake: Lake | None = None,
    connect: Connect | None = None,
) -> Backfills:
    """The backfill operations of `settings`' home, against the webserver at `webserver_url`.

    The lake and warehouse are the embedded default's unless given (production passes its
    S3 lake and Snowflake warehouse).
    """

    return Backfills(
        store=ManifestStore(settings.manifests_dir),
        lake=lake or LocalLake(settings.lake),
        connect=connect or duckdb_connector(settings.warehouse_path, lock_attempts),
        webserver=DagsterWebserver(webserver_url),
        clock=clock,
        first_business_date=settings.start_date,
        days_per_run=settings.backfill_days_per_run,
        git_commit=git_commit(REPOSITORY_ROOT),
        config={
            "env": settings.env,
            "start_date": settings.start_date.isoformat(),
            "spark_daily": dict(LOCAL_SPARK_CONFIG),
            "spark_backfill": dict(BACKFILL_SPARK_CONFIG),
            "days_per_run": settings.backfill_days_per_run,
        },
    )
