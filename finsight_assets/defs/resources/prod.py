"""Production resources: the lake on S3 and Spark on EMR Serverless (FINSIGHT_ENV=prod), the
warehouse on Snowflake (FINSIGHT_WAREHOUSE=snowflake, production's default).

Same keys as the embedded default (lake, warehouse, spark); every setting is an environment
variable read when a run starts (`dg.EnvVar`), so the definitions load without them and no
secret is ever in code or config files. AWS credentials come from the standard chain (instance
or task role, SSO profile), never from these settings.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import dagster as dg
from dagster_aws.s3 import S3Resource
from dagster_snowflake import SnowflakeResource
from pydantic import PrivateAttr

from finsight_assets.defs.resources.emr import EmrServerlessSparkResource
from finsight_assets.defs.resources.local import LakeResource, WarehouseResource
from finsight_assets.defs.run_context import BACKFILL_LANE, run_lane
from finsight_assets.lib.engines.s3_lake import S3Lake, arrow_s3_filesystem
from finsight_assets.lib.engines.snowflake_warehouse import (
    CONNECTION_ARGUMENTS,
    SESSION_PARAMETERS,
    SnowflakeWarehouse,
)
from finsight_assets.lib.wap.layout import ensure_schema


class S3LakeResource(LakeResource):
    """The lake under s3://bucket/prefix/ (raw/, staging/, exports/), through dagster-aws."""

    s3: S3Resource
    bucket: str
    prefix: str = "finsight"

    @property
    def root_uri(self) -> str:
        return f"s3://{self.bucket}/{self.prefix.strip('/')}"

    def get_lake(self) -> S3Lake:
        client = self.s3.get_client()
        return S3Lake(
            client=client,
            bucket=self.bucket,
            prefix=self.prefix,
            filesystem=arrow_s3_filesystem(client),
        )


class SnowflakeWarehouseResource(WarehouseResource):
    """Snowflake through dagster-snowflake: one connection (warehouse and role) per lane.

    Daily runs use `daily`, backfill runs `backfill`; both read staged Parquet through `stage`,
    an external stage whose URL is the lake's root (s3://bucket/prefix/).
    """

    daily: SnowflakeResource
    backfill: SnowflakeResource
    lake: LakeResource
    stage: str = "FINSIGHT.STAGING.LAKE"
    # Whether a connection creates the schema if missing: the lanes' do; an engineer's role
    # (FINSIGHT_OPERATOR, deploy/snowflake/setup.sql) may create nothing.
    creates_schema: bool = True

    # Operator commands (plan, rollback) run outside any run: they are backfill work.
    _lane: str = PrivateAttr(default=BACKFILL_LANE)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        if context.dagster_run is not None:
            self._lane = run_lane(dict(context.dagster_run.tags))

    @contextmanager
    def connect(
        self, lock_attempts: int | None = None, read_only: bool = False
    ) -> Iterator[SnowflakeWarehouse]:
        # Snowflake has no file lock to wait for and its reads block no writer: `lock_attempts`
        # and `read_only` are the embedded default's.
        snowflake = self.backfill if self._lane == BACKFILL_LANE else self.daily
        with snowflake.get_connection() as connection:
            warehouse = SnowflakeWarehouse(connection, self.stage, self.lake.root_uri)
            if self.creates_schema:
                ensure_schema(warehouse)
            yield warehouse


def _snowflake_as(**who: Any) -> SnowflakeResource:
    """A connection to the account's database as `who` (user, authentication, role,
    warehouse), in the session every FinSight connection has."""
    return SnowflakeResource(
        account=dg.EnvVar("SNOWFLAKE_ACCOUNT"),
        database=dg.EnvVar("SNOWFLAKE_DATABASE"),
        timezone=SESSION_PARAMETERS["TIMEZONE"],
        additional_snowflake_connection_args={
            "session_parameters": dict(SESSION_PARAMETERS),
            **CONNECTION_ARGUMENTS,
        },
        **who,
    )


def _snowflake(lane: str) -> SnowflakeResource:
    upper = lane.upper()
    return _snowflake_as(
        user=dg.EnvVar(f"SNOWFLAKE_{upper}_USER"),
        # Key-pair authentication (PEM text from the secrets manager): service users have no
        # passwords.
        private_key=dg.EnvVar(f"SNOWFLAKE_{upper}_PRIVATE_KEY"),
        role=dg.EnvVar(f"SNOWFLAKE_{upper}_ROLE"),
        warehouse=dg.EnvVar(f"SNOWFLAKE_{upper}_WAREHOUSE"),
    )


def _operator_snowflake() -> SnowflakeResource:
    """The engineer at the `finsight` command, as their own Snowflake user (SSO by default):
    the session's CURRENT_USER() is who plans, approves and rolls back."""
    return _snowflake_as(
        user=dg.EnvVar("SNOWFLAKE_OPERATOR_USER"),
        authenticator=dg.EnvVar("SNOWFLAKE_OPERATOR_AUTHENTICATOR"),
        role=dg.EnvVar("SNOWFLAKE_OPERATOR_ROLE"),
        warehouse=dg.EnvVar("SNOWFLAKE_BACKFILL_WAREHOUSE"),
    )


def snowflake_warehouse(
    lake: LakeResource, as_operator: bool = False
) -> SnowflakeWarehouseResource:
    """The warehouse on Snowflake, its stage over `lake`: as each lane's service user, or (for
    operator commands) as the engineer running them, never as a lane's service user."""
    if as_operator:
        daily = backfill = _operator_snowflake()
    else:
        daily, backfill = _snowflake("daily"), _snowflake("backfill")
    return SnowflakeWarehouseResource(
        daily=daily,
        backfill=backfill,
        lake=lake,
        stage=dg.EnvVar("FINSIGHT_SNOWFLAKE_STAGE"),
        creates_schema=not as_operator,
    )


def prod_lake_and_spark() -> dict[str, dg.ConfigurableResource]:
    """The lake on S3 and Spark on EMR Serverless, every setting from the environment when a
    run starts."""
    s3 = S3Resource(region_name=dg.EnvVar("AWS_REGION"))
    bucket = dg.EnvVar("FINSIGHT_S3_BUCKET")
    lake = S3LakeResource(s3=s3, bucket=bucket, prefix=dg.EnvVar("FINSIGHT_S3_PREFIX"))
    return {
        "lake": lake,
        "spark": EmrServerlessSparkResource(
            region_name=dg.EnvVar("AWS_REGION"),
            application_id_daily=dg.EnvVar("FINSIGHT_EMR_APPLICATION_DAILY"),
            application_id_backfill=dg.EnvVar("FINSIGHT_EMR_APPLICATION_BACKFILL"),
            execution_role_arn=dg.EnvVar("FINSIGHT_EMR_JOB_ROLE_ARN"),
            entry_point_uri=dg.EnvVar("FINSIGHT_EMR_ENTRY_POINT"),
            archives_uri=dg.EnvVar("FINSIGHT_EMR_ARCHIVES"),
            py_files_uri=dg.EnvVar("FINSIGHT_EMR_PY_FILES"),
            log_uri=dg.EnvVar("FINSIGHT_EMR_LOG_URI"),
            pipes_bucket=bucket,
        ),
    }
