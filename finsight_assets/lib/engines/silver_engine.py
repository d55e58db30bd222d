"""Where silver's outcome rows are computed: the engine interface (DuckDB, local Spark, EMR
Serverless), with no engine imported."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Protocol, runtime_checkable

from finsight_assets.lib.contract.tables import Column
from finsight_assets.lib.engines.lake import Lake
from finsight_assets.lib.engines.warehouse import Warehouse
from finsight_assets.lib.layers.silver_job import SilverJob


class SilverEngine(Protocol):
    """Runs one silver job: reads its raw files, writes every row with its outcome to staging."""

    # How errors name the engine ("DuckDB", "Spark").
    name: str

    def run(self, job: SilverJob) -> None: ...


@runtime_checkable
class InWarehouseSilverEngine(SilverEngine, Protocol):
    """An engine that can also compute the outcome rows inside a warehouse's own session (DuckDB
    in the embedded warehouse), with no hand-off through staged Parquet."""

    def compute_in(
        self,
        warehouse: Warehouse,
        lake: Lake,
        transform: str,
        files: Mapping[date, Sequence[str]],
        usd_rates: Mapping[date, Mapping[str, Decimal]],
        table: str,
        columns: Sequence[Column],
    ) -> dict[date, str] | None:
        """Create `table` in the warehouse with every day's outcome rows; the days that failed,
        with their error. None when the engine cannot run inside this warehouse."""
        ...


class UncomputableDay(RuntimeError):
    """A day's raw files break the contract so that the day cannot be computed; the error is
    worded as the day's error (docs/contract.md, "Bad raw input")."""
