"""Silver's Spark jobs on EMR Serverless (prod), through dagster-aws Pipes, on the release the
deployment names (`EMR_RELEASE_LABEL`: emr-spark-8.0.0, Spark 4.0.2).

Each silver job is one EMR Serverless job run on the application of the run's lane: the daily
lane's application (small, quick to start) or the backfill lane's (large), so a backfill never
takes the daily run's capacity. `PipesEMRServerlessClient` starts the job with the Pipes
bootstrap parameters in the driver's environment, polls it to the end (cancelling it when the
Dagster step is interrupted) and raises when it fails.

Messages come back through S3 (`PipesS3MessageReader` here, `PipesS3MessageWriter` in
`jobs/silver_entry.py`), read while the job runs. The client only wires up CloudWatch readers
itself, so it logs a warning that the S3 reader "is not supported": that warning is about its
CloudWatch log forwarding; the S3 messages are read by the session regardless. Message chunks
stay under `s3://<pipes_bucket>/<pipes_prefix>/`: expire them with a bucket lifecycle rule.

A step that opens a Pipes session must report its assets with typed results
(`MaterializeResult`, as the silver assets do): an asset returning None then fails the step.

Permissions of the code location's role: emr-serverless StartJobRun, GetJobRun, CancelJobRun,
GetApplication and GetDashboardForJobRun on both applications, iam:PassRole on the execution
role, and s3 GetObject, PutObject and ListBucket on the Pipes bucket. The execution role
reads the raw files and the job uploads, and writes staging and the Pipes messages.
"""

import json
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3
import dagster as dg
from dagster_aws.pipes import PipesEMRServerlessClient, PipesS3MessageReader

from finsight_assets.defs.resources.local import SparkResource
from finsight_assets.defs.run_context import run_lane
from finsight_assets.lib.contract.run_tags import BACKFILL_LANE, DAILY_LANE
from finsight_assets.lib.engines.emr_serverless import (
    EMR_RELEASE_LABEL,
    MAX_INLINE_JOB_CHARS,
    OUTCOME_COUNTS_MESSAGE,
    EmrServerlessConfig,
    release_mismatch,
    start_job_run_params,
)
from finsight_assets.lib.engines.silver_engine import SilverEngine
from finsight_assets.lib.layers.silver_job import SilverJob


class PrefixedS3MessageReader(PipesS3MessageReader):
    """`PipesS3MessageReader` whose message chunks go under a key prefix (the stock one uses a
    random top-level key)."""

    def __init__(self, *, key_prefix: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.key_prefix = key_prefix.strip("/")

    @contextmanager
    def get_params(self) -> Iterator[dict[str, Any]]:
        """The stock parameters, with the random key prefix moved under this reader's prefix."""
        with super().get_params() as params:
            yield {**params, "key_prefix": f"{self.key_prefix}/{params['key_prefix']}"}


class EmrServerlessSparkResource(SparkResource):
    """Silver's Spark jobs on EMR Serverless, one application per lane, through Dagster Pipes.

    Credentials come from the standard AWS chain (the code location's role); `endpoint_url` is
    only for tests against a local AWS stand-in.
    """

    region_name: str
    application_id_daily: str
    application_id_backfill: str
    # The job runtime role: reads the raw files, writes staging and the Pipes messages.
    execution_role_arn: str
    # s3:// uri of jobs/silver_entry.py (see `python -m finsight_assets.jobs.package`).
    entry_point_uri: str
    # s3:// prefix for the Spark driver's and executors' logs.
    log_uri: str
    # Where the Pipes messages (and jobs too long to pass inline) are exchanged.
    pipes_bucket: str
    pipes_prefix: str = "dagster-pipes/silver"
    # venv-pack archive of the native dependencies, built on Amazon Linux.
    archives_uri: str | None = None
    # zip of finsight_assets and dagster_pipes.
    py_files_uri: str | None = None
    endpoint_url: str | None = None
    # Seconds between job state polls and between reads of the Pipes messages.
    poll_interval_seconds: float = 15.0
    message_interval_seconds: float = 10.0
    # A job whose JSON is longer goes to S3 and its uri to the entry point (at most the
    # inline limit EMR Serverless allows).
    max_inline_job_chars: int = MAX_INLINE_JOB_CHARS

    def emr_config(self) -> EmrServerlessConfig:
        """The plain-Python configuration start_job_run's parameters are built from."""
        return EmrServerlessConfig(
            application_ids={
                DAILY_LANE: self.application_id_daily,
                BACKFILL_LANE: self.application_id_backfill,
            },
            execution_role_arn=self.execution_role_arn,
            entry_point_uri=self.entry_point_uri,
            log_uri=self.log_uri,
            archives_uri=self.archives_uri,
            py_files_uri=self.py_files_uri,
        )

    def boto3_client(self, service: str) -> Any:
        """A boto3 client of this resource's region (and test endpoint)."""
        return boto3.client(service, region_name=self.region_name, endpoint_url=self.endpoint_url)

    def silver_engine(self, context: dg.AssetExecutionContext) -> SilverEngine:
        """An engine that runs the step's silver jobs on its lane's application."""
        return EmrServerlessEngine(self, context)


def _outcome_counts(messages: Any) -> list[Mapping[str, Any]]:
    return [
        message
        for message in messages
        if isinstance(message, Mapping) and message.get("kind") == OUTCOME_COUNTS_MESSAGE
    ]


@dataclass(frozen=True)
class EmrServerlessEngine:
    """Runs each silver job as an EMR Serverless job run of the step's lane, and waits for it."""

    resource: EmrServerlessSparkResource
    context: dg.AssetExecutionContext
    name = f"Spark on EMR Serverless ({EMR_RELEASE_LABEL})"

    def run(self, job: SilverJob) -> None:
        """Start the job on the lane's application, wait for it, log what it reported back. An
        application of another release than EMR_RELEASE_LABEL is refused before any job runs."""
        context, resource = self.context, self.resource
        run_id = context.run.run_id
        lane = run_lane(dict(context.run.tags))
        emr = resource.boto3_client("emr-serverless")
        application_id = resource.emr_config().application_ids[lane]
        application = emr.get_application(applicationId=application_id)["application"]
        refused = release_mismatch(application_id, application.get("releaseLabel", "?"))
        if refused is not None:
            raise RuntimeError(refused)
        s3 = resource.boto3_client("s3")
        prefix = f"{resource.pipes_prefix.strip('/')}/{run_id}"
        job_uri = None
        text = job.to_json()
        if len(text) > min(resource.max_inline_job_chars, MAX_INLINE_JOB_CHARS):
            key = f"{prefix}/jobs/{job.transform}-{uuid.uuid4().hex[:8]}.json"
            s3.put_object(Bucket=resource.pipes_bucket, Key=key, Body=text.encode("utf-8"))
            job_uri = f"s3://{resource.pipes_bucket}/{key}"
        params = start_job_run_params(
            resource.emr_config(),
            lane,
            job,
            name=f"finsight-silver-{job.transform}-{lane}-{run_id[:8]}",
            job_uri=job_uri,
        )
        context.log.info(
            f"silver {job.transform} on EMR Serverless application {params['applicationId']} "
            f"({lane} lane)" + (f", job at {job_uri}" if job_uri else "")
        )
        client = PipesEMRServerlessClient(
            client=emr,
            message_reader=PrefixedS3MessageReader(
                key_prefix=f"{prefix}/messages",
                bucket=resource.pipes_bucket,
                client=s3,
                interval=resource.message_interval_seconds,
            ),
            poll_interval=resource.poll_interval_seconds,
        )
        invocation = client.run(context=context, start_job_run_params=params)
        job_run = invocation.metadata.get("AWS EMR Serverless Job Run ID")
        job_run_id = job_run.value if job_run is not None else "?"
        reported = _outcome_counts(invocation.get_custom_messages())
        if not reported:
            # The job succeeded but nothing came back (no Pipes messages: a broken message
            # channel). Not fatal: the audits still count the staged rows against the raw ones.
            context.log.warning(
                f"EMR Serverless job run {job_run_id} ({job.transform}) succeeded without "
                "reporting its outcome counts through Pipes"
            )
            return
        for message in reported:
            counts = json.dumps(message.get("counts"), sort_keys=True)
            context.log.info(
                f"EMR Serverless job run {job_run_id} ({job.transform}, {lane} lane) staged "
                f"outcome counts {counts}"
            )
