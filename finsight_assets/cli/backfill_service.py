"""The backfills a `finsight backfill` command acts on: this environment's, opened once per
command, with the operator's clock."""

from __future__ import annotations

import atexit
from collections.abc import Callable
from contextlib import ExitStack
from datetime import UTC, datetime
from typing import TYPE_CHECKING, TypeVar

from finsight_assets.cli.backfill_output import fail, refusals
from finsight_assets.lib.settings import Settings

if TYPE_CHECKING:
    from finsight_assets.lib.backfills.operations import Backfills

T = TypeVar("T")

_RESOURCES = ExitStack()
atexit.register(_RESOURCES.close)


def utc_now() -> datetime:
    """The operator's clock: this boundary is the only place the wall clock is read."""
    return datetime.now(UTC)


def service() -> Backfills:
    # Imported here, not with the CLI: it brings pyarrow and DuckDB (see backfill_output).
    from finsight_assets.lib.backfills.operations import open_backfills

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


def operate(action: Callable[[Backfills], T], *refused: type[Exception]) -> T:
    """Run `action` on this environment's backfills; a refusal (see `refusals`) ends the
    command."""
    backfills = service()
    with refusals(*refused):
        return action(backfills)
