"""The environment, decided once: settings read from it (docs/contract.md, "Dates and
environment") when asked, never at import time. The CLI, the sensors, the resources and the
manifests all take a Settings.

The environment (FINSIGHT_ENV) decides where the lake and Spark run and how runs are launched;
the warehouse engine is a setting of its own (FINSIGHT_WAREHOUSE), by default the
environment's (`ENVIRONMENT_WAREHOUSES`), and so is silver's engine (FINSIGHT_SILVER_ENGINE:
DuckDB or a local Spark on one machine; EMR Serverless in prod)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import Field, dataclass, field, fields
from datetime import date
from pathlib import Path
from typing import Any

from finsight_assets.lib.engines.warehouses import DUCKDB, SNOWFLAKE, WAREHOUSE_KINDS

DEFAULT_START_DATE = "2025-01-01"
DEFAULT_WEBSERVER_URL = "http://127.0.0.1:3000"
# How long a day's raw files must stay unchanged before the late-data sensor plans it: a
# corrected delivery lands file by file, and should start one backfill, not one per file.
DEFAULT_LATE_DATA_QUIET_SECONDS = 60
# How long the rows of a replaced version are kept for rollback (`finsight backfill
# prune-history` deletes older ones that no rollback could need).
DEFAULT_HISTORY_RETENTION_DAYS = 90
# Each environment and the warehouse engine it uses unless FINSIGHT_WAREHOUSE says otherwise.
ENVIRONMENT_WAREHOUSES = {"local": DUCKDB, "prod": SNOWFLAKE}
ENVIRONMENTS = tuple(ENVIRONMENT_WAREHOUSES)
# Where silver's outcome rows are computed: the engines each environment may use, its default
# first. DuckDB needs no JVM; `spark` is the local Spark (a lane's warm Connect server, if one
# runs); prod runs the EMR Serverless release the deployment names (`EMR_RELEASE_LABEL`).
SILVER_DUCKDB, SILVER_SPARK, SILVER_EMR = "duckdb", "spark", "emr"
ENVIRONMENT_SILVER_ENGINES = {"local": (SILVER_DUCKDB, SILVER_SPARK), "prod": (SILVER_EMR,)}
# The checkout (or installed tree) this code runs from: dagster.yaml, workspace.yaml, git.
REPOSITORY_ROOT = Path(__file__).resolve().parents[2]


def _whole_number(variable: str, default: int | None, least: int, what: str) -> Any:
    """A setting read from `variable` as a whole number of at least `least` (`what` it must
    be, for the refusal), `default` when unset."""
    return field(default=default, metadata={"variable": variable, "least": least, "what": what})


def _under_home(name: str, doc: str | None = None) -> Any:
    """A place under FINSIGHT_HOME."""
    return property(lambda settings: settings.home / name, doc=doc)


@dataclass(frozen=True)
class Settings:
    """Where FinSight's state lives and which environment's resources to use."""

    env: str
    home: Path
    start_date: date
    # Partitions per run when the daemon runs a backfill; None: the whole range in one run
    # (what `dagster asset materialize --partition-range` requires).
    backfill_days_per_run: int | None = _whole_number(
        "FINSIGHT_BACKFILL_DAYS_PER_RUN", None, 1, "a positive integer"
    )
    late_data_quiet_seconds: int = _whole_number(
        "FINSIGHT_LATE_DATA_QUIET_SECONDS",
        DEFAULT_LATE_DATA_QUIET_SECONDS,
        0,
        "a whole number of seconds",
    )
    history_retention_days: int = _whole_number(
        "FINSIGHT_HISTORY_RETENTION_DAYS",
        DEFAULT_HISTORY_RETENTION_DAYS,
        1,
        "a positive whole number of days",
    )
    # The Dagster webserver the backfill operations talk to (DAGSTER_WEBSERVER_URL).
    webserver_url: str = DEFAULT_WEBSERVER_URL
    # FINSIGHT_WAREHOUSE; None: the environment's engine.
    warehouse: str | None = None
    # FINSIGHT_SILVER_ENGINE; None: the environment's default.
    silver_engine: str | None = None

    def __post_init__(self) -> None:
        if self.warehouse is not None and self.warehouse not in WAREHOUSE_KINDS:
            raise ValueError(
                f"FINSIGHT_WAREHOUSE must be one of {', '.join(WAREHOUSE_KINDS)}, "
                f"not {self.warehouse!r}"
            )
        allowed = ENVIRONMENT_SILVER_ENGINES[self.env]
        if self.silver_engine is not None and self.silver_engine not in allowed:
            raise ValueError(
                f"FINSIGHT_SILVER_ENGINE must be one of {', '.join(allowed)} where "
                f"FINSIGHT_ENV is {self.env}, not {self.silver_engine!r}"
            )

    @property
    def silver_engine_kind(self) -> str:
        """Silver's engine: FINSIGHT_SILVER_ENGINE, else the environment's default."""
        return self.silver_engine or ENVIRONMENT_SILVER_ENGINES[self.env][0]

    @property
    def warehouse_kind(self) -> str:
        """The warehouse engine: FINSIGHT_WAREHOUSE, else the environment's."""
        return self.warehouse or ENVIRONMENT_WAREHOUSES[self.env]

    @property
    def embedded(self) -> bool:
        """Whether the lake and the warehouse are the embedded default's: a folder and a DuckDB
        file under `home`, which the backfill operations open without any resource."""
        return self.env == "local" and self.warehouse_kind == DUCKDB

    lake = _under_home("lake")
    warehouse_path = _under_home("warehouse.duckdb")
    dagster_home = _under_home("dagster")
    spark_servers = _under_home(
        "spark", "Where each lane's Spark Connect server keeps its pid, log and url."
    )

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        """Read FINSIGHT_ENV, FINSIGHT_WAREHOUSE, FINSIGHT_SILVER_ENGINE, FINSIGHT_HOME,
        FINSIGHT_START_DATE (defaults: docs/contract.md), DAGSTER_WEBSERVER_URL and each
        whole-number setting's variable (FINSIGHT_BACKFILL_DAYS_PER_RUN,
        FINSIGHT_LATE_DATA_QUIET_SECONDS, FINSIGHT_HISTORY_RETENTION_DAYS)."""
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
        whole_numbers = {f.name: _read_whole(environ, f) for f in fields(cls) if f.metadata}
        return cls(
            env=env,
            home=home,
            start_date=start_date,
            webserver_url=environ.get("DAGSTER_WEBSERVER_URL", "").strip() or DEFAULT_WEBSERVER_URL,
            warehouse=environ.get("FINSIGHT_WAREHOUSE", "").strip().lower() or None,
            silver_engine=environ.get("FINSIGHT_SILVER_ENGINE", "").strip().lower() or None,
            **{name: value for name, value in whole_numbers.items() if value is not None},
        )


def _read_whole(environ: Mapping[str, str], setting: Field) -> int | None:
    """A whole-number setting's value in `environ` (None when unset), refused by name when it
    is not one or is below its least value."""
    variable, least = setting.metadata["variable"], setting.metadata["least"]
    raw = environ.get(variable, "").strip()
    if not raw:
        return None
    if not raw.isdigit() or int(raw) < least:
        raise ValueError(f"{variable} must be {setting.metadata['what']}, not {raw!r}")
    return int(raw)
