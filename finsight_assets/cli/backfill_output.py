"""How `finsight backfill` speaks: errors, JSON or tables, a manifest, a progress bar."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn
from rich.table import Table

from finsight_assets.lib.backfills.manifests import Manifest
from finsight_assets.lib.backfills.next_step import next_step
from finsight_assets.lib.backfills.people import REQUESTER_UNAUTHENTICATED
from finsight_assets.lib.engines.webserver import WebserverUnavailable

if TYPE_CHECKING:
    # The backfill operations import pyarrow and DuckDB: the commands that use them import
    # them when they run, so `finsight --help` and `finsight spark` never do.
    from finsight_assets.lib.backfills.lifecycle import Standing
    from finsight_assets.lib.backfills.operations import Backfills

console = Console()
POLL_SECONDS = 3.0
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for machines.")]


def acting(who: str) -> Any:
    """The option that names who acts: typed by hand on the embedded default only."""
    return typer.Option(help=f"{who} (embedded default; prod takes the session's user).")


def fail(error: Exception, code: int = 1) -> typer.Exit:
    # Not rich markup: an error's own brackets (types, paths) must print as they are.
    console.print(str(error), style="red", markup=False, highlight=False)
    return typer.Exit(code)


@contextmanager
def refusals(*refused: type[Exception]) -> Iterator[None]:
    """An operation's failure as the command's end, its error printed: exit 3 when no Dagster
    webserver answers, 1 when the operation refuses (raises one of `refused`)."""
    try:
        yield
    except WebserverUnavailable as error:
        raise fail(error, 3) from error
    except refused as error:
        raise fail(error) from error


def emit(as_json: bool, payload: Any, human: Callable[[], None]) -> None:
    if as_json:
        typer.echo(json.dumps(payload, indent=2, sort_keys=True, default=str))
    else:
        human()


def show_manifest(manifest: Manifest, backfills: Backfills) -> None:
    from finsight_assets.lib.tables.registry import SELF_DEPENDENT

    console.print(f"[bold]{manifest.id}[/bold]  {manifest.mode}  ({manifest.source})")
    unauthenticated = manifest.extra.get(REQUESTER_UNAUTHENTICATED)
    console.print(
        f"reason: {manifest.reason}  requested by: {manifest.requested_by}"
        + (" (unauthenticated: a UI backfill's user tag)" if unauthenticated else "")
    )
    table = Table("asset", "from", "to", "days")
    for r in manifest.ranges:
        table.add_row(r.asset, r.start.isoformat(), r.end.isoformat(), str(r.days))
    console.print(table)
    reach = [
        r for r in manifest.ranges if r.asset in SELF_DEPENDENT and r.end > manifest.requested_end
    ]
    for r in reach:
        console.print(
            f"balance roll-forward: {r.asset} is recomputed to {r.end}, "
            f"{(r.end - manifest.requested_end).days} day(s) past the requested range "
            "(the report shows the accounts and money it moves)"
        )
    if manifest.estimate is not None:
        e = manifest.estimate
        console.print(
            f"estimate: {e.raw_rows:,} raw rows, {e.raw_bytes / 1e6:,.1f} MB, ~{e.seconds:,.0f} s, "
            f"{e.vcpu_hours} vCPU-h, ${e.cost_usd} ({e.rows_per_second:,.0f} rows/s, {e.basis})"
        )
    console.print(f"approvals needed: {manifest.approvals_required}")


def standing_payload(backfills: Backfills, manifest_id: str, seen: Standing) -> dict[str, Any]:
    """What `status` says besides the manifest: approvals that count, the rows held for
    approval (not live) or published, and the one command the stage offers next (`next_command`)."""
    from finsight_assets.lib.backfills.evidence import approvals_of, published_now

    step = next_step(manifest_id, seen.stage, seen.evidence_digest)
    return {
        "approvals": approvals_of(backfills, manifest_id, seen),
        "published_partitions": published_now(backfills, manifest_id),
        **standing_rows(backfills, manifest_id),
        "next_command": None if step is None else step.command,
    }


def show_standing(manifest: Manifest, seen: Standing, shown: dict[str, Any]) -> None:
    """Its stage and approvals ("2 of 2 approvals (alice, bob)"), its rows, the evidence
    digest `approve --evidence` takes, and the command its stage offers (if any)."""
    from finsight_assets.lib.backfills.report.overview import approvals_text

    approvals = approvals_text(shown["approvals"], manifest.approvals_required)
    console.print(f"status: {seen.stage}  approvals: {approvals}", markup=False)
    if "rows_held_for_approval" in shown:
        console.print(f"rows held for approval: {shown['rows_held_for_approval']:,} (not live)")
    if "rows_published" in shown:
        console.print(f"rows published: {shown['rows_published']:,}")
    published = shown["published_partitions"]
    replaced = [
        f"{n} replaced by a later backfill or run ({by})"
        for by, n in published["replaced_by_later"].items()
    ]
    gone = replaced + (
        [f"{published['rolled_back']} rolled back"] if published["rolled_back"] else []
    )
    if published["live"] or gone:
        console.print(
            f"published partitions: {published['live']} live"
            + (f"; {'; '.join(gone)}" if gone else ""),
            markup=False,
        )
    if seen.evidence_digest is not None:
        console.print(f"evidence digest: {seen.evidence_digest}", markup=False)
        console.print(
            f"  finsight backfill report {manifest.id}   (what changes)",
            markup=False,
            soft_wrap=True,
        )
    if shown["next_command"] is not None:
        # Never folded: a command is copied whole.
        console.print(f"  {shown['next_command']}", markup=False, soft_wrap=True)


def standing_rows(backfills: Backfills, manifest_id: str) -> dict[str, int]:
    """The rows it holds for approval (not live) and the rows its versions published."""
    rows = {}
    holds = backfills.held(manifest_id)
    if holds:
        rows["rows_held_for_approval"] = sum(h.version.row_count for h in holds)
    published = backfills.published_versions(manifest_id)
    if published or not holds:
        rows["rows_published"] = sum(v.row_count for v in published)
    return rows


def watch(backfills: Backfills, manifest_id: str, as_json: bool) -> None:
    """Show progress until every backfill of the manifest ends; exit 1 if a partition failed."""
    bar = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn(
            "{task.completed}/{task.total} done, {task.fields[failed]} failed, "
            "{task.fields[pending]} pending, {task.fields[rate]} rows/s, ETA {task.fields[eta]}"
        ),
        console=console,
        disable=as_json,
    )
    with refusals(), bar:
        task = bar.add_task(manifest_id, total=None, failed=0, pending="?", rate="-", eta="?")
        while True:
            progress = backfills.progress(manifest_id)
            eta = progress.eta_seconds
            bar.update(
                task,
                total=progress.targeted,
                completed=progress.done,
                failed=progress.failed,
                pending=progress.pending,
                rate=f"{progress.rows_per_second:,.0f}",
                eta="?" if eta is None else f"{eta:,.0f}s",
            )
            if progress.finished:
                break
            time.sleep(POLL_SECONDS)
    failed = (
        backfills.failed_ranges(manifest_id)
        if progress.failed or progress.done < progress.targeted
        else []
    )
    payload = {
        **progress.to_json(),
        "failed_ranges": [
            {"asset": r.asset, "start": r.start.isoformat(), "end": r.end.isoformat()}
            for r in failed
        ],
    }
    held = backfills.evidence_digest(manifest_id) is not None
    payload["held_for_approval"] = held
    emit(
        as_json,
        payload,
        lambda: console.print(
            f"{manifest_id}: {progress.done} partition(s) "
            f"{'held for approval' if held else 'published'}, {len(failed)} range(s) failed"
        ),
    )
    if failed or progress.failed:
        raise typer.Exit(1)
