"""What a run may change, checked against the operations store where its tags enter, before it
stages anything (docs/backfills.md, "What a run may change").

A run of a manifest (its `finsight/manifest_id` tag, or a UI backfill's derived id) runs in the
manifest's mode, never LIVE, with no side effect the manifest does not allow, on partitions the
manifest covers, and on the code versions it recorded; a manifest asking for fewer approvals
than its own scope needs (written by hand, not planned) runs nothing. A run without a manifest
replaces no published history: it publishes the daily lane's own day (yesterday, the
schedule's partition) and days never published, and nothing else.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from finsight_assets.lib.backfills.drift import code_drift
from finsight_assets.lib.backfills.manifests import AssetRange, Manifest
from finsight_assets.lib.backfills.matrix import approvals_for, days_changed
from finsight_assets.lib.backfills.planning import contiguous_runs, days_between, scope
from finsight_assets.lib.contract.run_tags import (
    BACKFILL,
    DRY_RUN,
    LIVE,
    MANIFEST_TAG,
    MODE_TAG,
    SIDE_EFFECTS_TAG,
)
from finsight_assets.lib.contract.tables import BUSINESS_TIME_ZONE
from finsight_assets.lib.engines.warehouse import Warehouse, bind, bound
from finsight_assets.lib.tables.registry import TABLES_BY_NAME, UPSTREAM
from finsight_assets.lib.wap.audit_tables import CURRENT_VERSIONS, PARTITION_VERSIONS
from finsight_assets.lib.wap.versions import latest_published_dates


class RunRefused(ValueError):
    """A run's tags ask for what the operations store does not allow; nothing was staged."""


def spans(dates: Iterable[date]) -> str:
    """Dates as spans: `2025-03-01..2025-03-03, 2025-03-05`."""
    runs = contiguous_runs(dates)
    return ", ".join(f"{first}" if first == last else f"{first}..{last}" for first, last in runs)


def daily_day(clock: datetime) -> date:
    """The daily lane's own day at `clock`: the business date that ended last (yesterday in
    New York), the partition the schedule runs."""
    return clock.astimezone(ZoneInfo(BUSINESS_TIME_ZONE)).date() - timedelta(days=1)


def refuse_without_manifest(mode: str, side_effects: str | None, backfill: str | None) -> None:
    """What a run's tags may claim before (or without) a manifest: a Dagster backfill's run
    (`backfill` its id) is never LIVE; a BACKFILL run names its manifest; side effects need a
    manifest that allows them, unless the run is LIVE."""
    if backfill is not None and mode == LIVE:
        raise RunRefused(
            f"run tag {MODE_TAG}={LIVE} on a run of backfill {backfill}: a backfill's runs do not "
            "publish live; drop the tag (they run as BACKFILL, under the approval matrix)"
        )
    if backfill is None and mode == BACKFILL:
        raise RunRefused(
            f"run tag {MODE_TAG}={BACKFILL} without {MANIFEST_TAG}: a backfill runs a manifest "
            "(finsight backfill plan ...)"
        )
    if side_effects == "true" and mode != LIVE:
        raise RunRefused(
            f"run tag {SIDE_EFFECTS_TAG}=true on a {mode} run without a manifest that allows "
            "side effects (finsight backfill plan ... --allow-side-effects)"
        )


def refuse_manifest_run(
    manifest: Manifest,
    mode: str,
    side_effects: str | None,
    partitions: Mapping[str, Sequence[date]],
    code_versions: Mapping[str, str],
) -> None:
    """Raise RunRefused unless the run keeps to its manifest: its mode (or a dry run), its side
    effects, its partitions (per asset), and the code versions it executes
    (`code_versions`, this process's registry) of every table the manifest changes."""
    tag = f"run tag {MANIFEST_TAG}={manifest.id}"
    if mode not in (manifest.mode, DRY_RUN):
        raise RunRefused(
            f"{tag} with {MODE_TAG}={mode}: manifest {manifest.id} runs as {manifest.mode}"
        )
    if side_effects == "true" and not manifest.side_effects_allowed:
        raise RunRefused(
            f"{tag} with {SIDE_EFFECTS_TAG}=true: manifest {manifest.id} allows no side effects"
        )
    # A manifest written outside `finsight backfill plan` (by hand, in the warehouse) cannot
    # ask for fewer approvals than its own scope needs.
    floor = approvals_for(manifest.ranges)
    if manifest.approvals_required < floor:
        raise RunRefused(
            f"{tag}: manifest {manifest.id} records {manifest.approvals_required} approval(s) "
            f"required, but its own scope needs {floor} (the approval matrix): it was not "
            "planned by finsight backfill plan; plan it again"
        )
    refuse_uncovered(tag, f"manifest {manifest.id}", manifest.ranges, partitions)
    # Every table of its scope: a run publishes nothing of a manifest its code does not match.
    drifted = code_drift(manifest, {r.asset for r in manifest.ranges}, code_versions)
    if drifted:
        raise RunRefused(
            f"{tag}: this run executes other code than manifest {manifest.id} was planned on: "
            + "; ".join(str(d) for d in drifted)
            + " (planned: the manifest's; now: this run's); plan it again on this code"
        )


def refuse_uncovered(
    tag: str, what: str, ranges: Sequence[AssetRange], partitions: Mapping[str, Sequence[date]]
) -> None:
    """Raise RunRefused naming the partitions of the run (per asset) that `ranges` (the scope
    of `what`) leave out."""
    covered = days_changed(ranges)
    outside = {
        asset: sorted(set(dates) - covered.get(asset, set())) for asset, dates in partitions.items()
    }
    outside = {asset: dates for asset, dates in outside.items() if dates}
    if outside:
        raise RunRefused(
            f"{tag}: {what} does not cover "
            + "; ".join(f"{asset} {spans(dates)}" for asset, dates in sorted(outside.items()))
            + " (it covers "
            + ", ".join(f"{r.asset} {spans([r.start, r.end])}" for r in ranges)
            + "); plan a backfill of those days"
        )


def restated_history(
    warehouse: Warehouse,
    partitions: Mapping[str, Sequence[date]],
    run_id: str,
    clock: datetime,
    succeeded: Callable[[str], bool],
) -> dict[str, list[date]]:
    """Per table, the published days a run without a manifest would replace: what it computes,
    its downstream tables and the balance roll-forward (`planning.scope`; an export stands for
    the tables it reads), but the daily lane's own day and the days never published.

    A day stays never-published while each version of it was published without a manifest by
    a run that did not succeed (`succeeded(run_id)`) or by this run: running a first
    materialization again after a failure or a kill finishes it."""
    tables = {
        table: dates
        for asset, dates in partitions.items()
        for table in ([asset] if asset in TABLES_BY_NAME else UPSTREAM.get(asset, ()))
        if table in TABLES_BY_NAME and dates
    }
    if not tables:
        return {}
    reach = scope(list(tables), tables, latest_published_dates(warehouse))
    own = daily_day(clock)
    wanted = {
        (r.asset, d)
        for r in reach
        if r.asset in TABLES_BY_NAME
        for d in days_between(r.start, r.end)
        if d != own
    }
    if not wanted:
        return {}
    names, name_params = bound(sorted({t for t, _ in wanted}))
    first, first_params = bind(min(d for _, d in wanted))
    last, last_params = bind(max(d for _, d in wanted))
    rows = warehouse.fetchall(
        f"SELECT v.table_name, v.business_date, v.run_id, v.manifest_id "
        f"FROM {PARTITION_VERSIONS.name} AS v JOIN {CURRENT_VERSIONS.name} AS c "
        "ON c.table_name = v.table_name AND c.business_date = v.business_date "
        f"WHERE v.table_name IN ({names}) AND v.business_date BETWEEN {first} AND {last}",
        [*name_params, *first_params, *last_params],
    )
    history: dict[str, set[date]] = {}
    for table, day, version_run, manifest_id in rows:
        if (table, day) not in wanted or version_run == run_id:
            continue
        if manifest_id is not None or succeeded(version_run):
            history.setdefault(table, set()).add(day)
    return {table: sorted(days) for table, days in sorted(history.items())}


def refuse_restating(history: Mapping[str, Sequence[date]], clock: datetime) -> None:
    """Raise RunRefused naming the published days a run without a manifest would replace."""
    if not history:
        return
    every = sorted({d for days in history.values() for d in days})
    raise RunRefused(
        "no run tag "
        f"{MANIFEST_TAG}: this run would replace published history: "
        + "; ".join(f"{table} {spans(days)}" for table, days in history.items())
        + f". Without a manifest a run publishes the daily lane's own day ({daily_day(clock)}) "
        "and days never published; plan a backfill "
        f"(finsight backfill plan --start {every[0]} --end {every[-1]} ...) and run it "
        "(finsight backfill launch ID, or finsight materialize --manifest ID)"
    )
