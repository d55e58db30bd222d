"""What the backfill operations of one FinSight home work with: data only, no operation.

Each operation (`plan.py`, `launch.py`, `approval.py`, ...) takes a `BackfillContext` and uses
the fields it needs; `operations.Backfills` is the facade that carries one and calls them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from finsight_assets.lib.backfills.identity import Identity
from finsight_assets.lib.backfills.planning import Prices
from finsight_assets.lib.backfills.store import ManifestStore
from finsight_assets.lib.engines.lake import Lake
from finsight_assets.lib.engines.warehouse import Connect
from finsight_assets.lib.engines.webserver import DagsterWebserver


@dataclass(frozen=True)
class BackfillContext:
    """The manifest store, the lake, the warehouse, the webserver and the clock of one home,
    and the settings a plan records."""

    store: ManifestStore
    identity: Identity
    lake: Lake
    connect: Connect
    # Reads that write nothing (the same connector as `connect` unless a sensor's read-only).
    read: Connect
    webserver: DagsterWebserver
    clock: Callable[[], datetime]
    first_business_date: date
    days_per_run: int | None
    git_commit: str
    config: Mapping[str, Any]
    prices: Prices = Prices()
