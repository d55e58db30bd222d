"""The partition versions a backfill has published or holds for approval, read back, and what
follows from them: the evidence digest an approval names, and the ranges still missing.

Approval, lifecycle, progress, launch and evidence all read these; none of them reads another
operation for it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from finsight_assets.lib.backfills import events
from finsight_assets.lib.backfills.context import BackfillContext
from finsight_assets.lib.backfills.manifests import AssetRange
from finsight_assets.lib.backfills.planning import contiguous_runs, days_between
from finsight_assets.lib.backfills.store import canonical_json, digest_of
from finsight_assets.lib.tables.registry import SELF_DEPENDENT, TABLES_BY_NAME, UPSTREAM
from finsight_assets.lib.wap.held_versions import Evidence, HeldVersion, as_evidence, held_versions
from finsight_assets.lib.wap.publish_history import ManifestVersion, manifest_versions
from finsight_assets.lib.wap.versions import get_versions


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


@dataclass(frozen=True)
class HeldEvidence:
    """What an approval names: the digest, and the held versions it is the digest of."""

    digest: str
    entries: tuple[Evidence, ...]


def digest_of_evidence(manifest_digest: str, entries: Iterable[Evidence]) -> str:
    """The evidence digest: the manifest (its digest) and every held version's whole record."""
    body = {"manifest": manifest_digest, "held": [list(e) for e in sorted(entries)]}
    return digest_of(canonical_json(body))


def held_evidence(ctx: BackfillContext, manifest_id: str) -> HeldEvidence | None:
    """The evidence the backfill holds now (None: nothing held)."""
    entries = tuple(sorted(h.evidence for h in held(ctx, manifest_id)))
    if not entries:
        return None
    return HeldEvidence(digest_of_evidence(ctx.store.digest(manifest_id), entries), entries)


def evidence_digest(ctx: BackfillContext, manifest_id: str) -> str | None:
    """The digest an approval names: the manifest and what it holds (None: nothing held)."""
    evidence = held_evidence(ctx, manifest_id)
    return evidence.digest if evidence else None


def unfinished_publish(ctx: BackfillContext, manifest_id: str) -> HeldEvidence | None:
    """What is left of an approved publish that started and did not finish (stopped between
    publish units): the approved versions neither published nor discarded yet, under the
    approved digest. `publish` finishes it without another approval; None: nothing left."""
    started: dict | None = None
    for e in ctx.store.events(manifest_id):
        if e["event"] == events.PUBLISHING_HELD:
            started = e
        elif e["event"] == events.REJECTED or (
            e["event"] == events.PUBLISHED_HELD and started and e.get("digest") == started["digest"]
        ):
            started = None
    if started is None or not ctx.store.is_approved(manifest_id, started["digest"]):
        return None
    approved = tuple(as_evidence(entry) for entry in started["held"])
    if digest_of_evidence(ctx.store.digest(manifest_id), approved) != started["digest"]:
        return None
    left = _left_to_publish(ctx, manifest_id, approved)
    return HeldEvidence(started["digest"], left) if left else None


def _left_to_publish(
    ctx: BackfillContext, manifest_id: str, approved: Sequence[Evidence]
) -> tuple[Evidence, ...]:
    """The approved versions not published yet, of the tables that still hold some (a unit
    that committed published or discarded all of its versions); none unless every one of them
    is still held as approved (otherwise what is held is other evidence, to approve anew)."""
    holding = {h.evidence for h in held(ctx, manifest_id)}
    tables = {e[0] for e in holding}
    with ctx.read() as warehouse:
        published = {v.version_id for v in get_versions(warehouse, [e[2] for e in approved])}
    left = tuple(e for e in approved if e[2] not in published and e[0] in tables)
    return left if set(left) <= holding else ()


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
