"""Silver's Spark jobs on EMR Serverless: per-lane Spark sizing and the start_job_run request.

Plain Python, no Dagster and no AWS calls: the Dagster resource (`defs/resources/emr.py`) sends
what this module builds, and the entry point (`jobs/silver_entry.py`) reads the arguments built
here.

What runs on EMR Serverless (see `finsight_assets.jobs.package`):
- the entry point script (`entry_point_uri`);
- a zip of the pure-Python code it imports, finsight_assets and dagster_pipes (`py_files_uri`);
- a venv-pack archive of the native dependencies, pyarrow and boto3 with their Python, built on
  Amazon Linux like the release it runs on (`archives_uri`, unpacked as `./environment`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from finsight_assets.lib.contract.run_tags import BACKFILL_LANE, DAILY_LANE, LANE_TAG
from finsight_assets.lib.engines.spark_config import LOCAL_SPARK_CONFIG
from finsight_assets.lib.layers.silver_job import SilverJob

# The EMR Serverless release production runs silver on: Spark 4.0.2 (AWS's release notes:
# 4.0.2-amzn-0) with Python 3.11, so `is_valid_utf8`/`make_valid_utf8` exist and the silver SQL runs
# as the local tests run it (pyproject pins pyspark 4.0.2; `jobs/package.py` takes PySpark from the
# release). Both lanes' applications are created with it (deploy/aws/emr-applications.json), and
# a job refuses an application of another release.
EMR_RELEASE_LABEL = "emr-spark-8.0.0"
EMR_SPARK_VERSION = "4.0.2"

# Sizing from benchmarks/SCALE.md: one day of transactions is about 11 vCPU-hours; a 45-day
# backfill in 8 hours about 62 vCPUs, a 180-day request about 250. Workers take 4 GB per vCPU.
# - daily: up to 32 vCPUs, so a day is done in about 20 minutes; a few executors from the start
#   (no waiting for dynamic allocation to ramp up), fewer shuffle partitions.
# - backfill: up to 256 vCPUs on its own application (its own capacity limit), more partitions.
EMR_SPARK_PARAMETERS: Mapping[str, Mapping[str, str]] = {
    DAILY_LANE: {
        "spark.driver.cores": "2",
        "spark.driver.memory": "8g",
        "spark.executor.cores": "4",
        "spark.executor.memory": "14g",
        "spark.dynamicAllocation.enabled": "true",
        "spark.dynamicAllocation.initialExecutors": "4",
        "spark.dynamicAllocation.maxExecutors": "8",
        "spark.sql.shuffle.partitions": "128",
    },
    BACKFILL_LANE: {
        "spark.driver.cores": "4",
        "spark.driver.memory": "14g",
        "spark.executor.cores": "4",
        "spark.executor.memory": "14g",
        "spark.dynamicAllocation.enabled": "true",
        "spark.dynamicAllocation.initialExecutors": "8",
        "spark.dynamicAllocation.maxExecutors": "64",
        "spark.sql.shuffle.partitions": "1024",
    },
}

# A daily job that runs an hour is stuck (the daily run may be at most 30 minutes late); a
# backfill job gets EMR Serverless's default of 12 hours.
EMR_EXECUTION_TIMEOUT_MINUTES: Mapping[str, int] = {DAILY_LANE: 60, BACKFILL_LANE: 720}

# The settings the staged rows depend on (not the sizing): the entry point sets them in its
# session, so a job's output never depends on an application's defaults. Same as local Spark.
JOB_SQL_CONF: Mapping[str, str] = {
    key: LOCAL_SPARK_CONFIG[key]
    for key in (
        "spark.sql.session.timeZone",
        "spark.sql.parquet.outputTimestampType",
        "spark.sql.parquet.compression.codec",
        "spark.sql.sources.partitionOverwriteMode",
        "spark.sql.ansi.enabled",
    )
}

# Where the packaged environment is unpacked in the driver's and executors' working directory.
ENVIRONMENT_ALIAS = "environment"
ENVIRONMENT_PYTHON = f"./{ENVIRONMENT_ALIAS}/bin/python"

# A job's JSON longer than this travels as an S3 object (`--job-uri`), not inline: EMR
# Serverless has limited each entry point argument to 10,280 characters.
MAX_INLINE_JOB_CHARS = 10_000
JOB_URI_FLAG = "--job-uri"

# The custom Pipes message the entry point sends back: {"kind": ..., "transform": ...,
# "staging_uri": ..., "counts": {business_date: {outcome: rows}}}.
OUTCOME_COUNTS_MESSAGE = "silver_outcome_counts"

TRANSFORM_TAG = "finsight/transform"


def spark_submit_parameters(
    conf: Mapping[str, str], archives_uri: str | None = None, py_files_uri: str | None = None
) -> str:
    """The `--conf k=v ...` string of a job, with the packaged environment and code when given."""
    full = dict(conf)
    if archives_uri is not None:
        full["spark.archives"] = f"{archives_uri}#{ENVIRONMENT_ALIAS}"
        full["spark.emr-serverless.driverEnv.PYSPARK_DRIVER_PYTHON"] = ENVIRONMENT_PYTHON
        full["spark.emr-serverless.driverEnv.PYSPARK_PYTHON"] = ENVIRONMENT_PYTHON
        full["spark.executorEnv.PYSPARK_PYTHON"] = ENVIRONMENT_PYTHON
    if py_files_uri is not None:
        full["spark.submit.pyFiles"] = py_files_uri
    for key, value in full.items():
        # EMR Serverless splits the string on white space.
        if not key or not value or any(ch.isspace() for ch in key + value):
            raise ValueError(f"Spark conf {key}={value!r} must be non-empty and without spaces")
    return " ".join(f"--conf {key}={value}" for key, value in full.items())


@dataclass(frozen=True)
class EmrServerlessConfig:
    """Where and as whom silver's jobs run on EMR Serverless: one application per lane."""

    application_ids: Mapping[str, str]
    execution_role_arn: str
    entry_point_uri: str
    log_uri: str
    archives_uri: str | None = None
    py_files_uri: str | None = None
    spark_parameters: Mapping[str, Mapping[str, str]] = field(
        default_factory=lambda: EMR_SPARK_PARAMETERS
    )


def entry_point_arguments(job: SilverJob, job_uri: str | None = None) -> list[str]:
    """The entry point's arguments: the job's JSON, or where it was uploaded when too long."""
    if job_uri is not None:
        return [JOB_URI_FLAG, job_uri]
    text = job.to_json()
    if len(text) > MAX_INLINE_JOB_CHARS:
        raise ValueError(
            f"the {job.transform} job's JSON has {len(text)} characters, more than "
            f"{MAX_INLINE_JOB_CHARS} inline: upload it and pass its job_uri"
        )
    return [text]


def start_job_run_params(
    config: EmrServerlessConfig,
    lane: str,
    job: SilverJob,
    name: str,
    job_uri: str | None = None,
) -> dict[str, Any]:
    """The keyword arguments of `emr-serverless start_job_run` for one silver job on a lane."""
    if lane not in config.application_ids:
        raise ValueError(f"no EMR Serverless application for lane {lane!r}")
    conf = config.spark_parameters[lane]
    params: dict[str, Any] = {
        "applicationId": config.application_ids[lane],
        "executionRoleArn": config.execution_role_arn,
        "name": name,
        "jobDriver": {
            "sparkSubmit": {
                "entryPoint": config.entry_point_uri,
                "entryPointArguments": entry_point_arguments(job, job_uri),
                "sparkSubmitParameters": spark_submit_parameters(
                    conf, config.archives_uri, config.py_files_uri
                ),
            }
        },
        "configurationOverrides": {
            "monitoringConfiguration": {
                "s3MonitoringConfiguration": {"logUri": config.log_uri},
            }
        },
        "tags": {LANE_TAG: lane, TRANSFORM_TAG: job.transform},
    }
    if lane in EMR_EXECUTION_TIMEOUT_MINUTES:
        params["executionTimeoutMinutes"] = EMR_EXECUTION_TIMEOUT_MINUTES[lane]
    return params


def release_mismatch(application_id: str, release_label: str) -> str | None:
    """Why an application may not run silver's jobs (None: it runs EMR_RELEASE_LABEL)."""
    if release_label == EMR_RELEASE_LABEL:
        return None
    return (
        f"EMR Serverless application {application_id} runs release {release_label}; silver's "
        f"jobs need {EMR_RELEASE_LABEL} (Spark {EMR_SPARK_VERSION}): create the lane's "
        "application as deploy/aws/emr-applications.json says"
    )


def parse_entry_point_arguments(argv: Sequence[str]) -> tuple[str | None, str | None]:
    """(job JSON, None) or (None, job uri) from the entry point's arguments."""
    if len(argv) == 1 and argv[0] != JOB_URI_FLAG:
        return argv[0], None
    if len(argv) == 2 and argv[0] == JOB_URI_FLAG:
        return None, argv[1]
    raise ValueError(f"expected '<SilverJob JSON>' or '{JOB_URI_FLAG} <uri>', got {list(argv)!r}")
