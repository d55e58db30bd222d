"""The `finsight` command: generate raw data, materialize ranges, and summarise the warehouse."""

from __future__ import annotations

import dataclasses
import logging
import warnings
from datetime import date
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from finsight_assets.cli.backfill import app as backfill_app
from finsight_assets.cli.backfill_output import fail
from finsight_assets.cli.spark import app as spark_app
from finsight_assets.lib.settings import Settings

app = typer.Typer(help="FinSight lakehouse operations.", no_args_is_help=True)
data_app = typer.Typer(help="Synthetic raw data.", no_args_is_help=True)
app.add_typer(data_app, name="data")
app.add_typer(backfill_app, name="backfill")
app.add_typer(spark_app, name="spark")
console = Console()


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as error:
        raise typer.BadParameter(f"{value!r} is not a date YYYY-MM-DD") from error


StartOption = Annotated[str, typer.Option("--start", help="First business date, YYYY-MM-DD.")]
EndOption = Annotated[str, typer.Option("--end", help="Last business date, YYYY-MM-DD.")]


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except ValueError as error:
        raise fail(error, 2) from error


@app.callback()
def _logging(
    ctx: typer.Context, verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False
) -> None:
    ctx.obj = {"log_level": "INFO" if verbose else "WARNING", "verbose": verbose}
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(message)s"
    )
    for handler in logging.getLogger().handlers:
        handler.addFilter(_not_ungated_check_notices)


def _with_dagster(ctx: typer.Context) -> None:
    """Import Dagster for a command that loads the definitions; the others never pay its
    import (over a second of CPU)."""
    import dagster as dg

    if not ctx.obj["verbose"]:
        # Dagster flags its beta and preview APIs on every load; an operator can't act on that.
        warnings.filterwarnings("ignore", category=dg.BetaWarning)
        warnings.filterwarnings("ignore", category=dg.PreviewWarning)


def _not_ungated_check_notices(record: logging.LogRecord) -> bool:
    """Drop Dagster's "blocking asset check emitted no result" notice: checks report per
    partition (defs/checks.py), and a failed blocking audit fails its step, so nothing
    downstream runs on it."""
    message = record.getMessage()
    return not (message.startswith("Blocking asset check") and "emitted no result" in message)


@data_app.command("generate")
def data_generate(
    start: StartOption,
    end: EndOption,
    rows_per_day: Annotated[int, typer.Option(min=1)] = 20_000,
    seed: int = 7,
) -> None:
    """Write deterministic synthetic raw partitions under $FINSIGHT_HOME/lake/raw."""
    from rich.progress import Progress

    from finsight_assets.dev.synthetic import generate_raw

    settings = _settings()
    first, last = _date(start), _date(end)
    if last < first:
        raise typer.BadParameter("--end is before --start")
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("generating", total=(last - first).days + 1)
        summary = generate_raw(
            settings.lake,
            first,
            last,
            rows_per_day=rows_per_day,
            seed=seed,
            on_day=lambda _day: progress.advance(task),
        )
    empty = sum(1 for day in summary.days if day.transactions == 0)
    console.print(
        f"wrote {summary.total_transactions:,} raw transactions over {len(summary.days)} day(s) "
        f"({empty} without transactions) to {settings.lake / 'raw'}"
    )


@app.command()
def materialize(
    ctx: typer.Context,
    start: StartOption,
    end: EndOption,
    days_per_run: Annotated[int, typer.Option(min=1, help="Partitions per run.")] = 31,
    manifest: Annotated[
        str | None,
        typer.Option(
            "--manifest",
            help="Run as this planned backfill: replacing published history outside the "
            "daily lane's own day takes one.",
        ),
    ] = None,
) -> None:
    """Materialize all silver and gold assets for a range, in this process (no daemon)."""
    _with_dagster(ctx)
    from finsight_assets.cli.materialize import manifest_tags, materialize_range

    settings = _settings()

    def report(outcome) -> None:
        status = "[green]ok[/green]" if outcome.success else "[red]failed[/red]"
        console.print(f"{outcome.start} .. {outcome.end}: {status} (run {outcome.run_id})")
        for error in outcome.errors:
            console.print(f"  {error}", style="red", markup=False)

    try:
        outcomes = materialize_range(
            settings,
            _date(start),
            _date(end),
            days_per_run=days_per_run,
            tags=manifest_tags(settings, manifest) if manifest else None,
            on_batch=report,
            log_level=ctx.obj["log_level"],
        )
    except ValueError as error:
        raise fail(error, 2) from error
    _print_summary(settings, [o.run_id for o in outcomes])
    if not all(o.success for o in outcomes):
        raise typer.Exit(1)


@app.command()
def summary(ctx: typer.Context) -> None:
    """Rows per table and check outcomes in the warehouse."""
    _with_dagster(ctx)
    _print_summary(_settings(), None)


def _print_summary(settings: Settings, run_ids: list[str] | None) -> None:
    from finsight_assets.defs.resources.environment import lake_and_warehouse
    from finsight_assets.lib.engines.warehouses import DUCKDB
    from finsight_assets.lib.layers.summary import check_summary, table_summaries

    with lake_and_warehouse(settings) as (_, resource), resource.connect() as warehouse:
        tables = table_summaries(warehouse)
        checks = check_summary(warehouse, run_ids)
    grid = Table(title="FinSight warehouse")
    for column in ("table", "rows", "days", "from", "to"):
        grid.add_column(
            column, justify="right" if column in ("rows", "days") else "left", no_wrap=True
        )
    for t in tables:
        grid.add_row(
            t.name, f"{t.rows:,}", str(t.partitions), t.first_date or "-", t.last_date or "-"
        )
    console.print(grid)
    scope = "these runs" if run_ids else "all runs"
    colour = "green" if checks.failed == 0 else "red"
    console.print(
        f"checks ({scope}, per partition): [{colour}]{checks.passed} passed, "
        f"{checks.failed} failed[/{colour}]"
    )
    if settings.warehouse_kind == DUCKDB:
        console.print(f"warehouse: {settings.warehouse_path}")
    if settings.env == "local":
        console.print(f"open the UI: make dev  (then {settings.webserver_url})")


@app.command("run-daily")
def run_daily(
    ctx: typer.Context,
    business_date: Annotated[str, typer.Option("--date", help="The business date to run.")],
) -> None:
    """Submit the daily job for one date through the run queue, exactly as the schedule does."""
    _with_dagster(ctx)
    from finsight_assets.defs.schedules import DAILY_JOB_NAME, DAILY_LANE_TAGS
    from finsight_assets.lib.contract.run_tags import PARTITION_TAG
    from finsight_assets.lib.engines.webserver import (
        DagsterApiError,
        DagsterWebserver,
        WebserverUnavailable,
    )

    settings = _settings()
    day = _date(business_date)
    if day < settings.start_date:
        console.print(f"[red]{day} is before the first business date {settings.start_date}[/red]")
        raise typer.Exit(2)
    webserver = DagsterWebserver(settings.webserver_url)
    try:
        run_id = webserver.launch_run(
            DAILY_JOB_NAME, {PARTITION_TAG: day.isoformat(), **DAILY_LANE_TAGS}
        )
    except WebserverUnavailable as error:
        raise fail(error, 3) from error
    except DagsterApiError as error:
        raise fail(error, 1) from error
    console.print(f"queued daily run {run_id} for {day} on the daily lane")


@app.command()
def demo(
    ctx: typer.Context,
    days: Annotated[
        int, typer.Option(min=40, help="Business days of data, ending yesterday.")
    ] = 60,
    rows_per_day: Annotated[int, typer.Option(min=100)] = 20_000,
) -> None:
    """The whole story: daily load, a corrected re-delivery backfilled, report, rollback."""
    _with_dagster(ctx)
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from finsight_assets.dev.demo import demo_range, run_demo
    from finsight_assets.lib.contract.tables import BUSINESS_TIME_ZONE

    first, last = demo_range(datetime.now(ZoneInfo(BUSINESS_TIME_ZONE)).date(), days)
    run_demo(_settings(), first, last, rows_per_day, console, lambda: datetime.now(UTC))
    _print_summary(dataclasses.replace(_settings(), start_date=first), None)
