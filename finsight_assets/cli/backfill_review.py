"""`finsight backfill` after the runs: the report, approval or rejection of what a backfill
holds, publishing it, rolling it back, and pruning the history rollbacks no longer need.

Registered on the `finsight backfill` app by `backfill.py`."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from finsight_assets.cli.backfill_output import JsonOption, acting, console, emit
from finsight_assets.cli.backfill_service import operate
from finsight_assets.lib.backfills.manifests import BackfillError, ManifestError
from finsight_assets.lib.settings import Settings

if TYPE_CHECKING:
    # Imported by the commands that use them (pyarrow comes with them): see backfill_output.
    from finsight_assets.lib.wap.held_publish import HeldPublish


def approve(
    manifest_id: str,
    evidence: Annotated[
        str, typer.Option(help="The evidence digest you reviewed (`status` prints it).")
    ],
    by: Annotated[str | None, acting("The approver")] = None,
    as_json: JsonOption = False,
) -> None:
    """Approve a held backfill's evidence; the last approval it needs publishes it."""
    from finsight_assets.lib.wap.model import PublishError

    approval = operate(lambda b: b.approve(manifest_id, by, evidence), ManifestError, PublishError)

    def human() -> None:
        console.print(
            f"{manifest_id}: {len(approval.approvals)} of {approval.required} approval(s)"
        )
        if approval.published is not None:
            _say_published(manifest_id, approval.published)

    emit(as_json, approval.to_json(), human)
    if approval.published is not None and approval.published.refused:
        raise typer.Exit(1)


def _say_published(manifest_id: str, outcome: HeldPublish) -> None:
    console.print(f"published {len(outcome.published)} held partition version(s)")
    for (table, d), why in sorted(outcome.refused.items()):
        console.print(f"refused {table} {d}: {why}", style="red", markup=False)
    if outcome.refused:
        console.print(f"recompute them: finsight backfill retry {manifest_id}", markup=False)


def publish(
    manifest_id: str,
    by: Annotated[str | None, acting("Who publishes")] = None,
    as_json: JsonOption = False,
) -> None:
    """Publish an approved backfill's held versions (after an interrupted publish)."""
    from finsight_assets.lib.wap.model import PublishError

    outcome = operate(lambda b: b.publish_held(manifest_id, by), ManifestError, PublishError)
    emit(
        as_json,
        {"id": manifest_id, "published": len(outcome.published), "refused": len(outcome.refused)},
        lambda: _say_published(manifest_id, outcome),
    )
    if outcome.refused:
        raise typer.Exit(1)


def reject(
    manifest_id: str,
    reason: Annotated[str, typer.Option(help="Why the evidence is rejected.")],
    by: Annotated[str | None, acting("Who rejects")] = None,
    as_json: JsonOption = False,
) -> None:
    """Reject a held backfill: discard what it holds; nothing published changes."""
    discarded = operate(lambda b: b.reject(manifest_id, by, reason), ManifestError)
    emit(
        as_json,
        {"id": manifest_id, "discarded": discarded},
        lambda: console.print(f"rejected {manifest_id}: {discarded} held version(s) discarded"),
    )


def report(
    manifest_id: str,
    out: Annotated[Path, typer.Option(help="Where to write the report.")] = Path("reports"),
    as_json: JsonOption = False,
) -> None:
    """Write the evidence as Markdown plus a PNG chart."""
    from finsight_assets.lib.backfills.report.files import write_report

    evidence = operate(lambda b: b.evidence(manifest_id), ManifestError)
    markdown, chart = write_report(evidence, out)
    emit(
        as_json,
        {"id": manifest_id, "markdown": str(markdown), "chart": str(chart)},
        lambda: console.print(f"report: {markdown}\nchart:  {chart}"),
    )


def rollback(
    manifest_id: str,
    force: Annotated[bool, typer.Option(help="Also when a later run republished.")] = False,
    wait: Annotated[
        bool, typer.Option(help="Accepted for symmetry: rollback is synchronous.")
    ] = False,
    by: Annotated[str | None, acting("Who rolls back")] = None,
    as_json: JsonOption = False,
) -> None:
    """Restore every partition the backfill published to the version it replaced."""
    from finsight_assets.lib.wap.model import PublishError

    del wait
    restored = operate(
        lambda b: b.rollback(manifest_id, force=force, by=by),
        BackfillError,
        ManifestError,
        PublishError,
    )
    emit(
        as_json,
        {"id": manifest_id, "restored": restored},
        lambda: console.print(
            f"rolled back {manifest_id}: "
            + ", ".join(f"{t} ({len(d)} partition(s))" for t, d in restored.items())
        ),
    )


def prune_history(
    older_than_days: Annotated[
        int | None,
        typer.Option(min=1, help="Default: FINSIGHT_HISTORY_RETENTION_DAYS (90)."),
    ] = None,
    dry_run: Annotated[bool, typer.Option(help="List what would go; delete nothing.")] = False,
    by: Annotated[str | None, acting("Who prunes")] = None,
    as_json: JsonOption = False,
) -> None:
    """Delete the history rows of versions replaced longer ago than the retention, except any
    a rollback could still restore; recorded, with who pruned, in the operations store."""
    days = older_than_days or Settings.from_env().history_retention_days
    pruned = operate(lambda b: b.prune_history(days, dry_run=dry_run, by=by), ManifestError)
    emit(
        as_json,
        {
            "older_than_days": days,
            "dry_run": dry_run,
            "by": pruned.by,
            "versions": [dataclasses.asdict(v) for v in pruned.versions],
            "rows_deleted": pruned.rows_deleted,
        },
        lambda: console.print(
            f"{len(pruned.versions)} replaced version(s) older than {days} day(s) that no "
            "rollback needs"
            + (
                ": dry run, nothing deleted"
                if dry_run
                else f"; rows deleted: {pruned.rows_deleted or 0}"
            )
        ),
    )
