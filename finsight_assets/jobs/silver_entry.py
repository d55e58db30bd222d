"""The EMR Serverless entry point of a silver job: run it on the cluster's Spark, report back.

    spark-submit silver_entry.py '<SilverJob JSON>'
    spark-submit silver_entry.py --job-uri s3://bucket/key.json

Dagster's `PipesEMRServerlessClient` starts it with the Pipes bootstrap parameters in the
driver's environment (`spark.emr-serverless.driverEnv.DAGSTER_PIPES_*`); the messages go back
through S3 (`PipesS3MessageWriter`, read by the resource's `PipesS3MessageReader`): logs, and
one custom message with the staged rows per business date and outcome. Exits non-zero when the
job fails, so EMR Serverless marks the job run FAILED.

Imports only dagster_pipes, boto3 (for the S3 messages), pyspark and finsight_assets.lib: no
Dagster on the cluster.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import boto3
from dagster_pipes import PipesContext, PipesS3MessageWriter, open_dagster_pipes
from pyspark.sql import SparkSession

from finsight_assets.lib.engines.emr_serverless import (
    JOB_SQL_CONF,
    OUTCOME_COUNTS_MESSAGE,
    parse_entry_point_arguments,
)
from finsight_assets.lib.engines.s3_lake import split_s3_uri
from finsight_assets.lib.layers import silver_spark
from finsight_assets.lib.layers.silver_job import SilverJob

logger = logging.getLogger("finsight.silver_entry")


def read_job(argv: Sequence[str], s3_client: Any) -> SilverJob:
    """The job of the arguments: inline JSON, or a JSON object on S3 (or a local path)."""
    text, uri = parse_entry_point_arguments(argv)
    if uri is not None and uri.startswith("s3://"):
        bucket, key = split_s3_uri(uri)
        text = s3_client.get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8")
    elif uri is not None:
        text = Path(uri).read_text(encoding="utf-8")
    return SilverJob.from_json(str(text))


def run(pipes: PipesContext, argv: Sequence[str], s3_client: Any) -> dict[str, dict[str, int]]:
    """Run the job of the arguments in this Spark application and report its outcome counts."""
    job = read_job(argv, s3_client)
    days = len(job.files_by_date)
    files = sum(len(paths) for paths in job.files_by_date.values())
    pipes.log.info(f"silver {job.transform}: {files} raw files over {days} days")
    # The application's session (EMR Serverless configures it); not stopped here, so main() can
    # also run inside a process that owns a session.
    spark = SparkSession.builder.getOrCreate()
    for key, value in JOB_SQL_CONF.items():
        spark.conf.set(key, value)
    silver_spark.run_job(spark, job)
    counts = silver_spark.outcome_counts(spark, job.staging_uri)
    rows = sum(sum(by_outcome.values()) for by_outcome in counts.values())
    pipes.log.info(f"silver {job.transform}: {rows} rows staged at {job.staging_uri}")
    pipes.report_custom_message(
        {
            "kind": OUTCOME_COUNTS_MESSAGE,
            "transform": job.transform,
            "staging_uri": job.staging_uri,
            "counts": counts,
        }
    )
    return counts


def main(argv: Sequence[str]) -> int:
    """Run one silver job under Dagster Pipes; 0 on success, 1 on failure (reported to Dagster)."""
    logging.basicConfig(level=logging.INFO)
    # Credentials and region from the job's execution role and environment.
    s3_client = boto3.client("s3")
    try:
        # An exception inside is sent to Dagster in the Pipes "closed" message, then re-raised.
        with open_dagster_pipes(message_writer=PipesS3MessageWriter(client=s3_client)) as pipes:
            run(pipes, argv, s3_client)
    except Exception:
        logger.exception("silver job failed")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
