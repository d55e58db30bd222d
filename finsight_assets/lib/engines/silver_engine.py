"""Where silver's outcome rows are computed: the engine interface (DuckDB, local Spark, EMR
Serverless), with no engine imported."""

from __future__ import annotations

from typing import Protocol

from finsight_assets.lib.layers.silver_job import SilverJob


class SilverEngine(Protocol):
    """Runs one silver job: reads its raw files, writes every row with its outcome to staging."""

    # How errors name the engine ("DuckDB", "Spark").
    name: str

    def run(self, job: SilverJob) -> None: ...


class UncomputableDay(RuntimeError):
    """A day's raw files break the contract so that the day cannot be computed; the error is
    worded as the day's error (docs/contract.md, "Bad raw input")."""
