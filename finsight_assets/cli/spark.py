"""`finsight spark`: the lanes' warm Spark Connect servers on this machine (spark_connect.py)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from finsight_assets.cli.backfill_output import fail
from finsight_assets.lib.settings import Settings

app = typer.Typer(
    help="The lanes' Spark Connect servers: runs connect to them instead of starting a JVM.",
    no_args_is_help=True,
)
console = Console()
LaneOption = Annotated[
    str | None, typer.Option("--lane", help="daily or backfill (default: both).")
]


def _servers(lane: str | None):
    from finsight_assets.lib.engines.spark_connect import LANES, servers

    chosen = servers(Settings.from_env().spark_servers)
    if lane is not None and lane not in LANES:
        raise fail(ValueError(f"no lane {lane!r}: the lanes are {', '.join(LANES)}"), 2)
    return [chosen[lane]] if lane else list(chosen.values())


@app.command()
def start(lane: LaneOption = None) -> None:
    """Start the lanes' servers (those already answering are left as they are)."""
    from finsight_assets.lib.engines.spark_connect import SparkServerDown

    for server in _servers(lane):
        with console.status(f"starting the {server.lane} lane's Spark Connect server"):
            try:
                url = server.start()
            except SparkServerDown as error:
                raise fail(error) from error
        console.print(f"{server.lane}: {url} (log: {server.log})")


@app.command()
def stop(lane: LaneOption = None) -> None:
    """Stop the lanes' servers; runs then start Spark in their own process again."""
    for server in _servers(lane):
        server.stop()
        console.print(f"{server.lane}: stopped")


@app.command()
def restart(lane: LaneOption = None) -> None:
    """Stop, then start the lanes' servers."""
    stop(lane)
    start(lane)


@app.command()
def status(lane: LaneOption = None) -> None:
    """Each lane's server: its url, whether it answers, its log. Exits 1 if one is down."""
    table = Table("lane", "url", "state", "log")
    down = False
    for server in _servers(lane):
        if server.url is None:
            state = "not started (runs start Spark in their own process)"
        elif server.answers():
            state = "[green]answers[/green]"
        else:
            state, down = "[red]down[/red]: `finsight spark restart`", True
        table.add_row(server.lane, server.url or "-", state, str(server.log or "-"))
    console.print(table)
    if down:
        raise typer.Exit(1)
