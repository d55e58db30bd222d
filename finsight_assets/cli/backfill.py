"""`finsight backfill ...`: backfills as audited operations, for people and (--json) machines.

Planning, launching and watching live here; what follows the runs (report, approve, reject,
publish, rollback, prune-history) in `backfill_review.py`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich import box
from rich.table import Table

from finsight_assets.cli import backfill_review as review
from finsight_assets.cli.backfill_output import (
    JsonOption,
    acting,
    console,
    emit,
    refusals,
    show_manifest,
    show_standing,
    standing_payload,
    watch,
)
from finsight_assets.cli.backfill_service import operate, service
from finsight_assets.lib.backfills.manifests import BackfillError, ManifestError
from finsight_assets.lib.engines.webserver import DagsterApiError, WebserverUnavailable

if TYPE_CHECKING:
    # pyarrow and DuckDB come with the operations: a command imports them when it runs
    # (`backfill_service.service`), so `finsight --help` and `finsight spark` never do.
    from finsight_assets.lib.backfills.operations import Backfills

app = typer.Typer(
    help="Backfills: plan, launch, watch, approve or reject what they hold, report, roll back.",
    no_args_is_help=True,
)
WaitOption = Annotated[bool, typer.Option(help="Watch progress until it ends.")]


def _date(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as error:
        raise typer.BadParameter(f"{value!r} is not a date YYYY-MM-DD") from error


def plan(
    reason: Annotated[str, typer.Option(help="Why this backfill is needed.")],
    requested_by: Annotated[str | None, acting("Who asks for it")] = None,
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
    with refusals(BackfillError, ManifestError, ValueError):
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

    def human() -> None:
        show_manifest(manifest, backfills)
        console.print(f"planned {manifest.id}")

    emit(as_json, manifest.to_json(), human)


ByOption = Annotated[str | None, acting("Who acts (recorded in the manifest's events)")]


def launch(
    manifest_id: str, by: ByOption = None, wait: WaitOption = False, as_json: JsonOption = False
) -> None:
    """Submit a manifest to Dagster as an asset backfill on the backfill lane (one that needs
    approval holds what it computes until approved)."""
    _submit(manifest_id, "launched", lambda b, m, who: b.launch(m, who), by, wait, as_json)


def _submit(
    manifest_id: str,
    verb: str,
    action: Callable[[Backfills, str, str | None], str],
    by: str | None,
    wait: bool,
    as_json: bool,
) -> None:
    """Launch (or retry) through the webserver as `by`, say so, and watch it when asked."""
    backfills = service()
    with refusals(BackfillError, ManifestError, DagsterApiError):
        backfill_id = action(backfills, manifest_id, by)
    emit(
        as_json,
        {"id": manifest_id, "backfill_id": backfill_id},
        lambda: console.print(f"{verb} {manifest_id} as Dagster backfill {backfill_id}"),
    )
    if wait:
        watch(backfills, manifest_id, as_json)


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


def status(manifest_id: str, as_json: JsonOption = False) -> None:
    """The manifest, its approvals, and its progress in Dagster."""
    backfills = service()
    with refusals(ManifestError):
        manifest = backfills.store.get(manifest_id)
    now = backfills.standing(manifest_id)
    payload: dict[str, Any] = {
        "manifest": manifest.to_json(),
        # The manifest's own digest (what an evidence digest includes), not for `approve`.
        "manifest_digest": backfills.store.digest(manifest_id),
        "evidence_digest": now.evidence_digest,
        "status": now.stage,
        "events": backfills.store.events(manifest_id),
    }
    progress = None
    if backfills.store.backfill_ids(manifest_id):
        try:
            progress = backfills.progress(manifest_id)
            payload["progress"] = progress.to_json()
        except WebserverUnavailable as error:
            payload["progress"] = {"error": str(error)}

    payload.update(standing_payload(backfills, manifest_id, now))

    def human() -> None:
        show_manifest(manifest, backfills)
        show_standing(manifest, now, payload)
        if progress is not None:
            p = progress.to_json()["partitions"]
            console.print(
                f"progress: {p['done']}/{p['targeted']} done, {p['failed']} failed, "
                f"{p['pending']} pending; finished: {progress.finished}"
            )

    emit(as_json, payload, human)


def retry(
    manifest_id: str, by: ByOption = None, wait: WaitOption = False, as_json: JsonOption = False
) -> None:
    """Re-launch only the partitions of the manifest that failed."""
    _submit(manifest_id, "retrying", lambda b, m, who: b.retry(m, who), by, wait, as_json)


def cancel(manifest_id: str, by: ByOption = None, as_json: JsonOption = False) -> None:
    """Cancel the manifest's running backfills."""
    cancelled = operate(lambda b: b.cancel(manifest_id, by), ManifestError, DagsterApiError)
    emit(
        as_json,
        {"id": manifest_id, "cancelled": cancelled},
        lambda: console.print(f"cancelled {len(cancelled)} backfill(s) of {manifest_id}"),
    )


# In the order `finsight backfill --help` lists them.
for name, command in (
    ("plan", plan),
    ("approve", review.approve),
    ("publish", review.publish),
    ("reject", review.reject),
    ("launch", launch),
    ("list", list_manifests),
    ("status", status),
    ("retry", retry),
    ("cancel", cancel),
    ("report", review.report),
    ("rollback", review.rollback),
    ("prune-history", review.prune_history),
):
    app.command(name)(command)
