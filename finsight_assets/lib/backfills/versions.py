"""The partition versions a backfill has published or holds for approval, read back, and what
follows from them: the evidence digest an approval names, and the ranges still missing.

Approval, lifecycle, progress, launch and evidence all read these; none of them reads another
operation for it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from finsight_assets.lib.backfills.context import BackfillContext
from finsight_assets.lib.backfills.manifests import AssetRange
from finsight_assets.lib.backfills.planning import contiguous_runs, days_between
from finsight_assets.lib.backfills.store import canonical_json, digest_of
from finsight_assets.lib.tables.registry import SELF_DEPENDENT, TABLES_BY_NAME, UPSTREAM
from finsight_assets.lib.wap.held_versions import HeldVersion, held_versions
from finsight_assets.lib.wap.publish_history import ManifestVersion, manifest_versions


def published_versions(ctx: BackfillContext, manifest_id: str) -> list[ManifestVersion]:
    """What the backfill's runs have published, in publish order."""
    with ctx.read() as warehouse:
        return manifest_versions(warehouse, manifest_id)


def held(ctx: BackfillContext, manifest_id: str) -> list[HeldVersion]:
    """The versions the backfill holds for approval."""
    with ctx.read() as warehouse:
        return held_versions(warehouse, manifest_id)


def partitions_of(
    published: Iterable[ManifestVersion], holds: Iterable[HeldVersion]
) -> set[tuple[str, date]]:
    """The (table, business date) partitions of published and held versions."""
    return {(v.table_name, v.business_date) for v in published} | {
        (h.version.table_name, h.version.business_date) for h in holds
    }


def evidence_digest(ctx: BackfillContext, manifest_id: str) -> str | None:
    """The digest an approval names: the manifest and what it holds (None: nothing held)."""
    versions = held(ctx, manifest_id)
    if not versions:
        return None
    body = {
        "manifest": ctx.store.digest(manifest_id),
        "held": [
            [
                h.version.table_name,
                h.version.business_date.isoformat(),
                h.version.version_id,
                h.version.row_count,
                h.version.checksum,
                h.version.replaced_version_id,
            ]
            for h in versions
        ],
    }
    return digest_of(canonical_json(body))


def failed_ranges(ctx: BackfillContext, manifest_id: str) -> list[AssetRange]:
    """The manifest's warehouse partitions that no run of it has published or holds, and, for
    the balance chain, every day from the earliest such day it is computed from (a
    roll-forward may have published later days from the old silver)."""
    manifest = ctx.store.get(manifest_id)
    published = partitions_of(published_versions(ctx, manifest_id), held(ctx, manifest_id))
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
