"""Plan a backfill: scope it (the requested partitions and their downstream impact), record the
inputs and code it is planned on, estimate it, and write its manifest. Nothing runs yet."""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping, Sequence
from datetime import date

from finsight_assets.lib.backfills.context import BackfillContext
from finsight_assets.lib.backfills.events import PLANNED
from finsight_assets.lib.backfills.identity import with_unauthenticated_requester
from finsight_assets.lib.backfills.manifests import BackfillError, Manifest
from finsight_assets.lib.backfills.matrix import approvals_for, neighbouring_scopes
from finsight_assets.lib.backfills.people import REQUESTER_UNAUTHENTICATED, person_name
from finsight_assets.lib.backfills.planning import (
    config_hash,
    days_between,
    estimate,
    fx_version,
    raw_input_versions,
    scope,
    stale_partitions,
)
from finsight_assets.lib.contract.run_tags import BACKFILL, DRY_RUN
from finsight_assets.lib.engines.warehouse import Warehouse
from finsight_assets.lib.tables.registry import CODE_VERSIONS, SILVER_AND_GOLD, UPSTREAM
from finsight_assets.lib.wap.estimates import measured_rows_per_second
from finsight_assets.lib.wap.versions import latest_published_dates

PUBLISH_POLICY = (
    "write-audit-publish: one transaction per run and table, "
    "blocking checks before publish, replaced versions kept for rollback"
)
HELD_PUBLISH_POLICY = (
    "; held until {n} approval(s) of the evidence, then published without recompute, one "
    "transaction per publish unit, refusing what changed meanwhile"
)
# The lane's limit in dagster.yaml (tag_concurrency_limits on dagster/backfill), recorded.
MAX_CONCURRENT_BACKFILL_RUNS = 2


def plan(
    ctx: BackfillContext,
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
    requester_authenticated: bool = True,
) -> Manifest:
    """Scope, estimate and write an immutable manifest; nothing runs yet. A requester nobody
    authenticated (a UI backfill's `user` tag) is recorded as such, and costs one approver
    more (`identity.with_unauthenticated_requester`)."""
    if not reason.strip() or not requested_by.strip():
        raise BackfillError("a backfill needs a --reason and a --requested-by")
    with ctx.connect() as warehouse:
        if requested_dates is not None:
            dates = {a: sorted(ds) for a, ds in requested_dates.items() if ds}
        elif stale_code:
            dates = _stale_dates(warehouse, start, end)
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
        if every[0] < ctx.first_business_date:
            raise BackfillError(
                f"{every[0]} is before the first business date {ctx.first_business_date}"
            )
        ranges = scope(list(dates), dates, latest_published_dates(warehouse))
        rate = measured_rows_per_second(warehouse)
    impacted = sorted({d for r in ranges for d in days_between(r.start, r.end)})
    inputs = raw_input_versions(ctx.lake, impacted)
    raw_dates = sorted({d for a, ds in dates.items() if a.startswith("silver.") for d in ds})
    runs = math.ceil(len(impacted) / ctx.days_per_run) if ctx.days_per_run else 1
    created = ctx.clock()
    # The matrix counts what changes (the roll-forward too), with the neighbouring requests.
    required = with_unauthenticated_requester(
        approvals_for(ranges, neighbouring_scopes(ctx.store, created, manifest_id)),
        requester_authenticated,
    )
    manifest = Manifest(
        id=manifest_id or f"bf-{created:%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}",
        created_at=created,
        reason=reason.strip(),
        requested_by=person_name(requested_by),
        mode=DRY_RUN if dry_run else BACKFILL,
        source=source,
        requested_start=every[0],
        requested_end=every[-1],
        ranges=ranges,
        input_versions=inputs,
        code_versions=dict(CODE_VERSIONS),
        git_commit=ctx.git_commit,
        config_hash=config_hash(ctx.config),
        fx_version=fx_version(inputs),
        publish_policy=PUBLISH_POLICY
        + (HELD_PUBLISH_POLICY.format(n=required) if required and not dry_run else ""),
        side_effects_allowed=allow_side_effects,
        limits={
            "days_per_run": ctx.days_per_run or len(impacted),
            "max_concurrent_backfill_runs": MAX_CONCURRENT_BACKFILL_RUNS,
        },
        estimate=estimate(ctx.lake, raw_dates, rate, runs, ctx.prices),
        approvals_required=required,
        dagster_backfill_id=dagster_backfill_id,
        extra={} if requester_authenticated else {REQUESTER_UNAUTHENTICATED: True},
    )
    ctx.store.create(manifest)
    ctx.store.record(manifest.id, PLANNED, created, by=manifest.requested_by, source=source)
    return manifest


def _stale_dates(
    warehouse: Warehouse, start: date | None, end: date | None
) -> dict[str, list[date]]:
    def within(d: date) -> bool:
        return (start is None or d >= start) and (end is None or d <= end)

    stale = stale_partitions(warehouse, CODE_VERSIONS)
    return {
        table: [d for d in found if within(d)]
        for table, found in stale.items()
        if any(within(d) for d in found)
    }
