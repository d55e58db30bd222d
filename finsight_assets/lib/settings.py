"""The environment, decided once: settings read from it (CONTRACT.md, "Environment") when asked,
never at import time. The CLI, the sensors, the resources and the manifests all take a Settings."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path

DEFAULT_START_DATE = "2025-01-01"
DEFAULT_WEBSERVER_URL = "http://127.0.0.1:3000"
# How long a day's raw files must stay unchanged before the late-data sensor plans it: a
# corrected delivery lands file by file, and should start one backfill, not one per file.
DEFAULT_LATE_DATA_QUIET_SECONDS = 60
# How long the rows of a replaced version are kept for rollback (`finsight backfill
# prune-history` deletes older ones that no rollback could need).
DEFAULT_HISTORY_RETENTION_DAYS = 90
ENVIRONMENTS = ("local", "prod")
# The checkout (or installed tree) this code runs from: dagster.yaml, workspace.yaml, git.
REPOSITORY_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Settings:
    """Where FinSight's state lives and which environment's resources to use."""

    env: str
    home: Path
    start_date: date
    # Partitions per run when the daemon runs a backfill; None: the whole range in one run
    # (what `dagster asset materialize --partition-range` requires).
    backfill_days_per_run: int | None = None
    # The Dagster webserver the backfill operations talk to (DAGSTER_WEBSERVER_URL).
    webserver_url: str = DEFAULT_WEBSERVER_URL
    # FINSIGHT_LATE_DATA_QUIET_SECONDS.
    late_data_quiet_seconds: int = DEFAULT_LATE_DATA_QUIET_SECONDS
    # FINSIGHT_HISTORY_RETENTION_DAYS.
    history_retention_days: int = DEFAULT_HISTORY_RETENTION_DAYS

    @property
    def lake(self) -> Path:
        return self.home / "lake"

    @property
    def warehouse_path(self) -> Path:
        return self.home / "warehouse.duckdb"

    @property
    def warehouse_kind(self) -> str:
        """The warehouse engine of this environment: duckdb (local) or snowflake (prod)."""
        return "snowflake" if self.env == "prod" else "duckdb"

    @property
    def dagster_home(self) -> Path:
        return self.home / "dagster"

    @property
    def spark_servers(self) -> Path:
        """Where each lane's Spark Connect server keeps its pid, log and url (spark_connect.py)."""
        return self.home / "spark"

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        """Read FINSIGHT_ENV, FINSIGHT_HOME, FINSIGHT_START_DATE (defaults: CONTRACT.md),
        FINSIGHT_BACKFILL_DAYS_PER_RUN, FINSIGHT_LATE_DATA_QUIET_SECONDS,
        FINSIGHT_HISTORY_RETENTION_DAYS and DAGSTER_WEBSERVER_URL."""
        environ = os.environ if environ is None else environ
        env = environ.get("FINSIGHT_ENV", "local").strip().lower() or "local"
        if env not in ENVIRONMENTS:
            raise ValueError(f"FINSIGHT_ENV must be 'local' or 'prod', not {env!r}")
        home = Path(environ.get("FINSIGHT_HOME", "./.finsight")).expanduser().resolve()
        raw_start = environ.get("FINSIGHT_START_DATE", "").strip() or DEFAULT_START_DATE
        try:
            start_date = date.fromisoformat(raw_start)
        except ValueError as error:
            raise ValueError(
                f"FINSIGHT_START_DATE must be a date YYYY-MM-DD, not {raw_start!r}"
            ) from error
        raw_batch = environ.get("FINSIGHT_BACKFILL_DAYS_PER_RUN", "").strip()
        if raw_batch and (not raw_batch.isdigit() or int(raw_batch) < 1):
            raise ValueError(
                f"FINSIGHT_BACKFILL_DAYS_PER_RUN must be a positive integer, not {raw_batch!r}"
            )
        raw_quiet = environ.get("FINSIGHT_LATE_DATA_QUIET_SECONDS", "").strip()
        if raw_quiet and not raw_quiet.isdigit():
            raise ValueError(
                "FINSIGHT_LATE_DATA_QUIET_SECONDS must be a whole number of seconds, "
                f"not {raw_quiet!r}"
            )
        raw_retention = environ.get("FINSIGHT_HISTORY_RETENTION_DAYS", "").strip()
        if raw_retention and (not raw_retention.isdigit() or int(raw_retention) < 1):
            raise ValueError(
                "FINSIGHT_HISTORY_RETENTION_DAYS must be a positive whole number of days, "
                f"not {raw_retention!r}"
            )
        return cls(
            env=env,
            home=home,
            start_date=start_date,
            backfill_days_per_run=int(raw_batch) if raw_batch else None,
            webserver_url=environ.get("DAGSTER_WEBSERVER_URL", "").strip() or DEFAULT_WEBSERVER_URL,
            late_data_quiet_seconds=int(raw_quiet)
            if raw_quiet
            else DEFAULT_LATE_DATA_QUIET_SECONDS,
            history_retention_days=int(raw_retention)
            if raw_retention
            else DEFAULT_HISTORY_RETENTION_DAYS,
        )
