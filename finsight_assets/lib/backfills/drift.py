"""Drift: where the code and raw inputs a manifest was planned on differ from now.

Every manifest is held to it, whatever its source (CLI, sensor, UI) and however many approvals
it needs: a manifest is the record of what its backfill computes from, so a launch or retry that
would compute from other code or inputs needs a manifest of its own (planned again). The
late-data sensor plans a manifest that needs no approval and launches it in the same tick, so
that one has no drift to refuse.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

from finsight_assets.lib.backfills.context import BackfillContext
from finsight_assets.lib.backfills.manifests import AssetRange, BackfillError, Manifest
from finsight_assets.lib.backfills.planning import days_between, raw_input_versions
from finsight_assets.lib.tables.registry import CODE_VERSIONS

CODE_VERSION, GIT_COMMIT, RAW_INPUT = "code version", "git commit", "raw input"


@dataclass(frozen=True)
class Drift:
    """One thing that differs: what it is, which one, its planned value and its value now."""

    what: str
    key: str
    planned: str | None
    now: str | None

    def __str__(self) -> str:
        name = {CODE_VERSION: f"{self.what} of {self.key}", RAW_INPUT: f"{self.what} {self.key}"}
        return (
            f"{name.get(self.what, self.what)}: "
            f"planned {self.planned or 'none'}, now {self.now or 'none'}"
        )


def code_drift(
    manifest: Manifest, tables: Iterable[str], code_versions: Mapping[str, str]
) -> list[Drift]:
    """Where the code versions of `tables` in `code_versions` (the code that runs) differ from
    the manifest's, by table name."""
    return [
        Drift(CODE_VERSION, name, manifest.code_versions.get(name), code_versions.get(name))
        for name in sorted(set(tables))
        if manifest.code_versions.get(name) != code_versions.get(name)
    ]


def drift(
    ctx: BackfillContext, manifest: Manifest, days: Iterable[date] | None = None
) -> list[Drift]:
    """What differs from the manifest now: code versions, git commit, and the raw inputs of
    `days` (default: every day it recorded), in that order."""
    found = code_drift(manifest, {*manifest.code_versions, *CODE_VERSIONS}, CODE_VERSIONS)
    if manifest.git_commit != ctx.git_commit:
        found.append(Drift(GIT_COMMIT, "", manifest.git_commit, ctx.git_commit))
    recorded = {date.fromisoformat(d) for d in manifest.input_versions}
    wanted = recorded if days is None else recorded & set(days)
    now = raw_input_versions(ctx.lake, wanted)
    for d in sorted(now):
        planned = manifest.input_versions[d]
        found.extend(
            Drift(RAW_INPUT, f"{d} {table}", planned.get(table), now[d].get(table))
            for table in sorted({*planned, *now[d]})
            if planned.get(table) != now[d].get(table)
        )
    return found


def refuse_drift(ctx: BackfillContext, manifest: Manifest, ranges: Iterable[AssetRange]) -> None:
    """Raise BackfillError naming each drift of the days `ranges` cover, and what to do."""
    days = {d for r in ranges for d in days_between(r.start, r.end)}
    found = drift(ctx, manifest, days)
    if found:
        raise BackfillError(
            f"{manifest.id} was planned on other code or inputs than now: "
            f"{'; '.join(str(d) for d in found)}. Plan it again on today's code and inputs "
            f"(finsight backfill plan --start {manifest.requested_start} "
            f"--end {manifest.requested_end} ...) and launch the new manifest"
        )
