"""`finsight backfill ...`: backfills as audited operations, for people and (--json) machines."""

from __future__ import annotations

import atexit
import dataclasses
from collections.abc import Callable
from contextlib import ExitStack
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.table import Table

from finsight_assets.cli.backfill_output import console, emit, fail, show_manifest, watch
from finsight_assets.lib.backfills.manifests import BackfillError, ManifestError
from finsight_assets.lib.backfills.operations import Backfills, open_backfills
from finsight_assets.lib.backfills.report.files import write_report
from finsight_assets.lib.engines.webserver import DagsterApiError, WebserverUnavailable
from finsight_assets.lib.settings import Settings
from finsight_assets.lib.wap import retention
from finsight_assets.lib.wap.hold import HeldPublish
from finsight_assets.lib.wap.model import PublishError

app = typer.Typer(
    help="Backfills: plan, launch, watch, approve or reject what they hold, report, roll back.",
    no_args_is_help=True,
)
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for machines.")]


_RESOURCES = ExitStack()
atexit.register(_RESOURCES.close)


def utc_now() -> datetime:
    """The operator's clock: this boundary is the only place the wall clock is read."""
    return datetime.now(UTC)


def service() -> Backfills:
    try:
        settings = Settings.from_env()
    except ValueError as error:
        raise fail(error, 2) from error
    if settings.embedded:
        return open_backfills(settings, utc_now)
    # Production's lake and warehouse settings resolve like a run's, the warehouse as the
    # engineer's own Snowflake user (who acts); they live as long as this command does.
    from finsight_assets.defs.resources.environment import lake_and_warehouse

    lake, warehouse = _RESOURCES.enter_context(lake_and_warehouse(settings, as_operator=True))
    return open_backfills(settings, utc_now, lake=lake.get_lake(), connect=warehouse.connect)


def _date(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as error:
        raise typer.BadParameter(f"{value!r} is not a date YYYY-MM-DD") from error


@app.command()
def plan(
    reason: Annotated[str, typer.Option(help="Why this backfill is needed.")],
    requested_by: Annotated[
        str | None,
        typer.Option(help="Who asks for it (embedded default; prod takes the session's user)."),
    ] = None,
    start: Annotated[str | None, typer.Option(help="First business date.")] = None,
    end: Annotated[str | None, typer.Option(help="Last business date.")] = None,
    assets: Annotated[
        str | None, typer.Option(help="Comma-separated tables, e.g. silver.customers.")
    ] = None,
    dry_run: Annotated[bool, typer.Option(help="Compute and audit, publish nothing.")] = False,
    stale_code: Annotated[
        bool, typer.Option(help="Exactly the partitions an older code version wrote.")
    ] = False,
    allow_side_effects: Annotated[bool, typer.Option(help="Let exports run.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Scope and estimate a backfill; write its immutable manifest and print its id."""
    backfills = service()
    try:
        manifest = backfills.plan(
            reason=reason,
            requested_by=backfills.identity.who(requested_by),
            start=_date(start),
            end=_date(end),
            assets=[a.strip() for a in assets.split(",")] if assets else None,
            dry_run=dry_run,
            stale_code=stale_code,
            allow_side_effects=allow_side_effects,
        )
    except (BackfillError, ManifestError, ValueError) as error:
        raise fail(error) from error

    def human() -> None:
        show_manifest(manifest, backfills)
        console.print(f"planned {manifest.id}")

    emit(as_json, manifest.to_json(), human)


@app.command()
def approve(
    manifest_id: str,
    evidence: Annotated[
        str, typer.Option(help="The evidence digest you reviewed (`status` prints it).")
    ],
    by: Annotated[
        str | None,
        typer.Option(help="The approver (embedded default; prod takes the session's user)."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Approve a held backfill's evidence; the last approval it needs publishes it."""
    backfills = service()
    try:
        approval = backfills.approve(manifest_id, by, evidence)
    except WebserverUnavailable as error:
        raise fail(error, 3) from error
    except (ManifestError, PublishError) as error:
        raise fail(error) from error

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


@app.command()
def publish(manifest_id: str, as_json: JsonOption = False) -> None:
    """Publish an approved backfill's held versions (after an interrupted publish)."""
    backfills = service()
    try:
        outcome = backfills.publish_held(manifest_id)
    except WebserverUnavailable as error:
        raise fail(error, 3) from error
    except (ManifestError, PublishError) as error:
        raise fail(error) from error
    emit(
        as_json,
        {"id": manifest_id, "published": len(outcome.published), "refused": len(outcome.refused)},
        lambda: _say_published(manifest_id, outcome),
    )
    if outcome.refused:
        raise typer.Exit(1)


@app.command()
def reject(
    manifest_id: str,
    reason: Annotated[str, typer.Option(help="Why the evidence is rejected.")],
    by: Annotated[
        str | None,
        typer.Option(help="Who rejects (embedded default; prod takes the session's user)."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Reject a held backfill: discard what it holds; nothing published changes."""
    backfills = service()
    try:
        discarded = backfills.reject(manifest_id, by, reason)
    except ManifestError as error:
        raise fail(error) from error
    emit(
        as_json,
        {"id": manifest_id, "discarded": discarded},
        lambda: console.print(f"rejected {manifest_id}: {discarded} held version(s) discarded"),
    )


@app.command()
def launch(
    manifest_id: str,
    wait: Annotated[bool, typer.Option(help="Watch progress until it ends.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Submit a manifest to Dagster as an asset backfill on the backfill lane (one that needs
    approval holds what it computes until approved)."""
    _submit(manifest_id, "launched", Backfills.launch, wait, as_json)


def _submit(
    manifest_id: str,
    verb: str,
    action: Callable[[Backfills, str], str],
    wait: bool,
    as_json: bool,
) -> None:
    """Launch (or retry) through the webserver, say so, and watch it when asked."""
    backfills = service()
    try:
        backfill_id = action(backfills, manifest_id)
    except WebserverUnavailable as error:
        raise fail(error, 3) from error
    except (BackfillError, ManifestError, DagsterApiError) as error:
        raise fail(error) from error
    emit(
        as_json,
        {"id": manifest_id, "backfill_id": backfill_id},
        lambda: console.print(f"{verb} {manifest_id} as Dagster backfill {backfill_id}"),
    )
    if wait:
        watch(backfills, manifest_id, as_json)


@app.command("list")
def list_manifests(as_json: JsonOption = False) -> None:
    """Every manifest with its status."""
    backfills = service()
    manifests = backfills.store.list()
    rows = [
        {
            "id": m.id,
            "status": backfills.stage(m.id),
            "mode": m.mode,
            "source": m.source,
            "range": f"{m.requested_start}..{m.requested_end}",
            "reason": m.reason,
            "requested_by": m.requested_by,
        }
        for m in manifests
    ]

    def human() -> None:
        # The id is what a user copies: never cut; the other columns fold instead.
        table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False, collapse_padding=True)
        table.add_column("id", no_wrap=True, min_width=max((len(r["id"]) for r in rows), default=2))
        table.add_column("status", min_width=9)
        for name, width in (("mode", 8), ("source", 6), ("range", 10), ("reason", 6), ("by", 3)):
            table.add_column(name, overflow="fold", min_width=width)
        for r in rows:
            table.add_row(
                r["id"],
                r["status"],
                r["mode"],
                r["source"],
                r["range"],
                r["reason"],
                r["requested_by"],
            )
        console.print(table)

    emit(as_json, rows, human)


@app.command()
def status(manifest_id: str, as_json: JsonOption = False) -> None:
    """The manifest, its approvals, and its progress in Dagster."""
    backfills = service()
    try:
        manifest = backfills.store.get(manifest_id)
    except ManifestError as error:
        raise fail(error) from error
    now = backfills.standing(manifest_id)
    payload: dict[str, Any] = {
        "manifest": manifest.to_json(),
        "digest": backfills.store.digest(manifest_id),
        "evidence_digest": now.evidence_digest,
        "status": now.stage,
        "approvals": backfills.approvals(manifest_id),
        "events": backfills.store.events(manifest_id),
    }
    progress = None
    if backfills.store.backfill_ids(manifest_id):
        try:
            progress = backfills.progress(manifest_id)
            payload["progress"] = progress.to_json()
        except WebserverUnavailable as error:
            payload["progress"] = {"error": str(error)}

    def human() -> None:
        show_manifest(manifest, backfills)
        if progress is not None:
            p = progress.to_json()["partitions"]
            console.print(
                f"progress: {p['done']}/{p['targeted']} done, {p['failed']} failed, "
                f"{p['pending']} pending; finished: {progress.finished}"
            )

    emit(as_json, payload, human)


@app.command()
def retry(
    manifest_id: str,
    wait: Annotated[bool, typer.Option(help="Watch progress until it ends.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Re-launch only the partitions of the manifest that failed."""
    _submit(manifest_id, "retrying", Backfills.retry, wait, as_json)


@app.command()
def cancel(manifest_id: str, as_json: JsonOption = False) -> None:
    """Cancel the manifest's running backfills."""
    backfills = service()
    try:
        cancelled = backfills.cancel(manifest_id)
    except WebserverUnavailable as error:
        raise fail(error, 3) from error
    except (ManifestError, DagsterApiError) as error:
        raise fail(error) from error
    emit(
        as_json,
        {"id": manifest_id, "cancelled": cancelled},
        lambda: console.print(f"cancelled {len(cancelled)} backfill(s) of {manifest_id}"),
    )


@app.command()
def report(
    manifest_id: str,
    out: Annotated[Path, typer.Option(help="Where to write the report.")] = Path("reports"),
    as_json: JsonOption = False,
) -> None:
    """Write the evidence as Markdown plus a PNG chart."""
    backfills = service()
    try:
        evidence = backfills.evidence(manifest_id)
    except WebserverUnavailable as error:
        raise fail(error, 3) from error
    except ManifestError as error:
        raise fail(error) from error
    markdown, chart = write_report(evidence, out)
    emit(
        as_json,
        {"id": manifest_id, "markdown": str(markdown), "chart": str(chart)},
        lambda: console.print(f"report: {markdown}\nchart:  {chart}"),
    )


@app.command()
def rollback(
    manifest_id: str,
    force: Annotated[bool, typer.Option(help="Also when a later run republished.")] = False,
    wait: Annotated[
        bool, typer.Option(help="Accepted for symmetry: rollback is synchronous.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Restore every partition the backfill published to the version it replaced."""
    del wait
    backfills = service()
    try:
        restored = backfills.rollback(manifest_id, force=force)
    except (BackfillError, ManifestError, PublishError) as error:
        raise fail(error) from error
    emit(
        as_json,
        {"id": manifest_id, "restored": restored},
        lambda: console.print(
            f"rolled back {manifest_id}: "
            + ", ".join(f"{t} ({len(d)} partition(s))" for t, d in restored.items())
        ),
    )


@app.command("prune-history")
def prune_history(
    older_than_days: Annotated[
        int | None,
        typer.Option(min=1, help="Default: FINSIGHT_HISTORY_RETENTION_DAYS (90)."),
    ] = None,
    dry_run: Annotated[bool, typer.Option(help="List what would go; delete nothing.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Delete the history rows of versions replaced longer ago than the retention, except any
    a rollback could still restore."""
    backfills = service()
    days = older_than_days or Settings.from_env().history_retention_days
    now = backfills.clock()
    with backfills.connect() as warehouse:
        versions = retention.prunable(warehouse, now - timedelta(days=days))
        deleted = {} if dry_run else retention.prune(warehouse, versions, now)
    emit(
        as_json,
        {
            "older_than_days": days,
            "dry_run": dry_run,
            "versions": [dataclasses.asdict(v) for v in versions],
            "rows_deleted": deleted,
        },
        lambda: console.print(
            f"{len(versions)} replaced version(s) older than {days} day(s) that no rollback "
            "needs"
            + (": dry run, nothing deleted" if dry_run else f"; rows deleted: {deleted or 0}")
        ),
    )
