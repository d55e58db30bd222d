"""Silver on EMR Serverless through dagster-aws Pipes, against moto's server (S3, EMR Serverless).

moto records a job run and marks it SUCCESS at once, running nothing. So:
- the submission test reads back what was submitted to each lane's application; no job writes
  Pipes messages, and the run still ends (the S3 reader gives up about 10 s after the job ends);
- the entry point test plays EMR Serverless's part: when the job is submitted, it runs the
  packaged entry point with the job's arguments and the Pipes variables of its driver
  environment, as a subprocess with its own local Spark; its messages go through moto's S3.
"""

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import dagster as dg
import pyarrow.parquet as pq
import pytest
from dagster_pipes import PipesDefaultContextLoader, decode_env_var
from moto.emrserverless import models as moto_emr_serverless

from finsight_assets.defs.resources.emr import EmrServerlessSparkResource
from finsight_assets.defs.resources.local import SparkResource
from finsight_assets.jobs import package
from finsight_assets.lib.contract.run_tags import (
    BACKFILL_ID_TAG,
    BACKFILL_LANE,
    DAILY_LANE,
    LANE_TAG,
)
from finsight_assets.lib.engines.emr_serverless import (
    EMR_EXECUTION_TIMEOUT_MINUTES,
    EMR_RELEASE_LABEL,
    EMR_SPARK_PARAMETERS,
    JOB_URI_FLAG,
)
from finsight_assets.lib.engines.spark_config import LOCAL_SPARK_CONFIG
from finsight_assets.lib.layers.silver_job import SilverJob
from finsight_assets_tests.prod.aws import REGION, aws_endpoint  # noqa: F401  (fixture)
from finsight_assets_tests.rawdata import fx, ts, txn, write_raw

BUCKET = "finsight-emr"
# moto's account: it refuses a role of another account.
ROLE = "arn:aws:iam::123456789012:role/finsight-silver-job"
ENTRY = f"s3://{BUCKET}/code/silver_entry.py"
PY_FILES = f"s3://{BUCKET}/code/finsight_silver.zip"
ARCHIVES = f"s3://{BUCKET}/code/pyspark_env.tar.gz"
LOGS = f"s3://{BUCKET}/logs/"
DRIVER_ENV = "spark.emr-serverless.driverEnv."
MAR_3, MAR_4 = date(2025, 3, 3), date(2025, 3, 4)
DEPLOYED_APPLICATIONS = json.loads(
    (Path(__file__).resolve().parents[2] / "deploy" / "aws" / "emr-applications.json").read_text()
)
LOCAL_SUBMIT_ARGS = " ".join(
    f"--conf {key}={value}"
    for key, value in LOCAL_SPARK_CONFIG.items()
    if key not in ("spark.driver.memory", "spark.app.name")
)


@dataclass(frozen=True)
class Aws:
    url: str
    s3: Any
    emr: Any
    applications: dict[str, str]


class _ReleaseLabels:
    """moto's check of a release label (it knows only `emr-X.Y.0` labels), also taking the
    release FinSight deploys: AWS names its Spark 4 releases `emr-spark-X.Y.Z`."""

    @staticmethod
    def match(pattern: str, label: str) -> Any:
        return label == EMR_RELEASE_LABEL or re.match(pattern, label)


@pytest.fixture
def aws(aws_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Aws:  # noqa: F811
    """moto's server, with a bucket and one Spark application per lane."""
    monkeypatch.setattr(moto_emr_serverless, "re", _ReleaseLabels)
    s3 = boto3.client("s3", region_name=REGION, endpoint_url=aws_endpoint)
    s3.create_bucket(Bucket=BUCKET)
    emr = boto3.client("emr-serverless", region_name=REGION, endpoint_url=aws_endpoint)
    # Each lane's application as the deployment creates it; get_application answers type
    # "Spark", which the Pipes client requires.
    applications = {
        lane: emr.create_application(**DEPLOYED_APPLICATIONS[lane])["applicationId"]
        for lane in (DAILY_LANE, BACKFILL_LANE)
    }
    return Aws(url=aws_endpoint, s3=s3, emr=emr, applications=applications)


def _resource(aws: Aws, **overrides: Any) -> EmrServerlessSparkResource:
    settings: dict[str, Any] = {
        "region_name": REGION,
        "endpoint_url": aws.url,
        "application_id_daily": aws.applications[DAILY_LANE],
        "application_id_backfill": aws.applications[BACKFILL_LANE],
        "execution_role_arn": ROLE,
        "entry_point_uri": ENTRY,
        "archives_uri": ARCHIVES,
        "py_files_uri": PY_FILES,
        "log_uri": LOGS,
        "pipes_bucket": BUCKET,
        "pipes_prefix": "pipes/silver",
        # Small intervals: moto answers at once.
        "poll_interval_seconds": 0.2,
        "message_interval_seconds": 0.2,
    }
    return EmrServerlessSparkResource(**{**settings, **overrides})


class JobConfig(dg.Config):
    job_json: str


@dg.asset
def silver_on_emr(
    context: dg.AssetExecutionContext, config: JobConfig, spark: SparkResource
) -> dg.MaterializeResult:
    """Runs one silver job through the spark resource's engine, as the silver assets do.

    A step that opened a Pipes session must report its assets with typed results (like the
    silver assets' MaterializeResult): Dagster no longer accepts an implicit None output.
    """
    spark.silver_engine(context).run(SilverJob.from_json(config.job_json))
    return dg.MaterializeResult()


def _materialize(
    resource: EmrServerlessSparkResource,
    job: SilverJob,
    tags: dict[str, str],
    raise_on_error: bool = True,
) -> tuple[dg.ExecuteInProcessResult, list[tuple[str, str]]]:
    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize(
        [silver_on_emr],
        resources={"spark": resource},
        run_config={"ops": {"silver_on_emr": {"config": {"job_json": job.to_json()}}}},
        tags=tags,
        instance=instance,
        raise_on_error=raise_on_error,
    )
    logs = [
        (entry.level if isinstance(entry.level, str) else str(entry.level), entry.user_message)
        for entry in instance.all_logs(result.run_id)
    ]
    return result, logs


def _confs(spark_submit_parameters: str) -> dict[str, str]:
    tokens = spark_submit_parameters.split()
    assert tokens[::2] == ["--conf"] * (len(tokens) // 2)
    confs = [token.split("=", 1) for token in tokens[1::2]]
    assert len({key for key, _ in confs}) == len(confs)
    return dict(confs)


def _only_job_run(aws: Aws, lane: str) -> dict[str, Any]:
    runs = aws.emr.list_job_runs(applicationId=aws.applications[lane])["jobRuns"]
    assert len(runs) == 1, runs
    return aws.emr.get_job_run(applicationId=aws.applications[lane], jobRunId=runs[0]["id"])[
        "jobRun"
    ]


def _read_s3(aws: Aws, uri: str) -> str:
    bucket, key = uri.removeprefix("s3://").split("/", 1)
    return aws.s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8")


def test_each_lane_submits_to_its_application(aws: Aws) -> None:
    """Daily and backfill runs go to their own application with their lane's Spark sizing."""
    resource = _resource(aws)
    daily_job = SilverJob(
        transform="customers",
        files_by_date={MAR_3: ["s3://lake/raw/customers/business_date=2025-03-03/part-0.parquet"]},
        staging_uri="s3://lake/staging/silver_customers/daily",
    )
    # 45 days of 40 files: too long to pass inline, so it travels through S3.
    days = [MAR_3 + timedelta(days=n) for n in range(45)]
    backfill_job = SilverJob(
        transform="transactions",
        files_by_date={
            d: [
                f"s3://lake/raw/transactions/business_date={d}/part-{n:05d}.parquet"
                for n in range(40)
            ]
            for d in days
        },
        staging_uri="s3://lake/staging/silver_transactions/backfill",
        usd_rates={d: {"EUR": Decimal("1.08123457"), "GBP": Decimal("1.26")} for d in days},
    )
    cases = [
        (DAILY_LANE, daily_job, {LANE_TAG: DAILY_LANE}),
        (BACKFILL_LANE, backfill_job, {BACKFILL_ID_TAG: "bf-emr-1"}),
    ]
    for lane, job, tags in cases:
        result, logs = _materialize(resource, job, tags)
        assert result.success
        job_run = _only_job_run(aws, lane)
        assert job_run["executionRole"] == ROLE
        assert job_run["state"] == "SUCCESS"
        assert job_run["executionTimeoutMinutes"] == EMR_EXECUTION_TIMEOUT_MINUTES[lane]
        assert job_run["tags"][LANE_TAG] == lane
        assert job_run["tags"]["dagster/run-id"] == result.run_id
        monitoring = job_run["configurationOverrides"]["monitoringConfiguration"]
        assert monitoring["s3MonitoringConfiguration"]["logUri"] == LOGS
        submit = job_run["jobDriver"]["sparkSubmit"]
        assert submit["entryPoint"] == ENTRY
        arguments = submit["entryPointArguments"]
        if lane == DAILY_LANE:
            assert len(arguments) == 1
            assert SilverJob.from_json(arguments[0]) == job
        else:
            assert arguments[0] == JOB_URI_FLAG
            assert arguments[1].startswith(f"s3://{BUCKET}/pipes/silver/{result.run_id}/jobs/")
            shipped = SilverJob.from_json(_read_s3(aws, arguments[1]))
            assert shipped == job
            assert shipped.usd_rates[MAR_3]["EUR"] == Decimal("1.08123457")

        confs = _confs(submit["sparkSubmitParameters"])
        for key, value in EMR_SPARK_PARAMETERS[lane].items():
            assert confs[key] == value, key
        assert confs["spark.archives"] == f"{ARCHIVES}#environment"
        assert confs[f"{DRIVER_ENV}PYSPARK_PYTHON"] == "./environment/bin/python"
        assert confs["spark.executorEnv.PYSPARK_PYTHON"] == "./environment/bin/python"
        assert confs["spark.submit.pyFiles"] == PY_FILES
        # The Pipes bootstrap, in the driver's environment: where to write the messages...
        messages = decode_env_var(confs[f"{DRIVER_ENV}DAGSTER_PIPES_MESSAGES"])
        assert messages["bucket"] == BUCKET
        assert messages["key_prefix"].startswith(f"pipes/silver/{result.run_id}/messages/")
        # ...and the context of the step that started the job.
        context = decode_env_var(confs[f"{DRIVER_ENV}DAGSTER_PIPES_CONTEXT"])
        context_data = context[PipesDefaultContextLoader.DIRECT_KEY]
        assert context_data["run_id"] == result.run_id
        assert context_data["asset_keys"] == ["silver_on_emr"]

        # Nothing ran, so nothing came back: the run says so and goes on.
        assert any("without reporting its outcome counts" in message for _, message in logs), logs
    # The lanes did not cross: still one job run per application, each its own.
    assert _only_job_run(aws, DAILY_LANE)["name"].startswith("finsight-silver-customers-daily-")
    assert _only_job_run(aws, BACKFILL_LANE)["name"].startswith(
        "finsight-silver-transactions-backfill-"
    )


def _transactions(lake: Path) -> tuple[dict[date, list[str]], dict[str, dict[str, int]]]:
    """Two days of raw transactions, and the rows of each outcome by day."""
    mar_4 = {"event_ts": ts("2025-03-04 15:00"), "ingested_at": ts("2025-03-04 15:05")}
    files = {
        MAR_3: write_raw(
            lake,
            "transactions",
            MAR_3,
            [
                txn("a"),
                txn("b"),
                txn("b"),  # a redelivery: DUPLICATE
                txn("c", amount=Decimal("0.00")),  # NON_POSITIVE_AMOUNT
                txn("d", currency="EUR", amount=Decimal("12.50")),
                txn("e", currency="XYZ"),  # UNKNOWN_CURRENCY
            ],
        ),
        MAR_4: write_raw(
            lake,
            "transactions",
            MAR_4,
            [txn("f", **mar_4), txn("g", **mar_4), txn("h", event_type="BOGUS", **mar_4)],
        ),
    }
    write_raw(lake, "fx_rates", MAR_3, fx(EUR="1.08000000"))
    expected = {
        "2025-03-03": {"VALID": 3, "DUPLICATE": 1, "REJECTED": 2},
        "2025-03-04": {"VALID": 2, "REJECTED": 1},
    }
    return {d: [str(path)] for d, path in files.items()}, expected


def test_entry_point_runs_the_job_and_reports_counts_through_pipes(
    aws: Aws, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The packaged entry point, started the way EMR Serverless starts it, stages the rows and
    reports their counts back through Pipes on S3."""
    entry, code_zip = package.build(tmp_path / "dist")
    files, expected = _transactions(tmp_path / "lake")
    # Local paths: Spark's s3a:// needs the hadoop-aws jars, which this machine does not have.
    staging = tmp_path / "staging" / "silver_transactions"
    job = SilverJob(
        transform="transactions",
        files_by_date=files,
        staging_uri=str(staging),
        usd_rates={MAR_3: {"EUR": Decimal("1.08000000")}},
    )
    ran: list[subprocess.CompletedProcess[str]] = []

    def run_like_emr(params: dict[str, Any], **_: Any) -> None:
        """On start_job_run: run the entry point with the job's arguments and driver env."""
        submit = params["jobDriver"]["sparkSubmit"]
        driver_env = {
            key.removeprefix(DRIVER_ENV): value
            for key, value in _confs(submit["sparkSubmitParameters"]).items()
            if key.startswith(DRIVER_ENV) and key.removeprefix(DRIVER_ENV).startswith("DAGSTER_")
        }
        env = {
            **os.environ,
            **driver_env,
            # What --py-files does for the driver; moto stands in for S3.
            "PYTHONPATH": str(code_zip),
            "AWS_ENDPOINT_URL_S3": aws.url,
            "SPARK_LOCAL_IP": "127.0.0.1",
            # The lane's sizing is for a cluster; this machine's Spark gets a laptop's.
            "PYSPARK_SUBMIT_ARGS": f"{LOCAL_SUBMIT_ARGS} pyspark-shell",
        }
        ran.append(
            subprocess.run(
                [sys.executable, str(entry), *submit["entryPointArguments"]],
                env=env,
                cwd=tmp_path,
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
        )

    session = boto3.Session(region_name=REGION)
    session.events.register("provide-client-params.emr-serverless.StartJobRun", run_like_emr)
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", session)

    # max_inline_job_chars=0: the job goes through S3 (--job-uri), read back by the entry point.
    result, logs = _materialize(_resource(aws, max_inline_job_chars=0), job, {})
    assert len(ran) == 1
    assert ran[0].returncode == 0, ran[0].stderr[-4000:]
    assert result.success

    # The job went to the daily application, with the job's uri as its argument.
    submit = _only_job_run(aws, DAILY_LANE)["jobDriver"]["sparkSubmit"]
    assert submit["entryPointArguments"][0] == JOB_URI_FLAG
    # The staged Parquet: every raw row once, with its outcome.
    staged = pq.read_table(staging).to_pylist()
    by_outcome: dict[str, dict[str, int]] = {}
    for row in staged:
        day = by_outcome.setdefault(row["business_date"].isoformat(), {})
        day[row["outcome"]] = day.get(row["outcome"], 0) + 1
    assert by_outcome == expected
    # The counts reported back through Pipes, logged by the resource, are the same.
    reported = [message for _, message in logs if "staged outcome counts" in (message or "")]
    assert len(reported) == 1, logs
    counts = json.loads(re.search(r"outcome counts (\{.*\})$", reported[0]).group(1))
    assert counts == expected
    # And the job's own Pipes logs arrived too.
    assert any("silver transactions: 2 raw files over 2 days" in (m or "") for _, m in logs)
    assert not any("without reporting" in (m or "") for _, m in logs)


def test_entry_point_exits_non_zero_when_the_job_fails(tmp_path: Path) -> None:
    """A job that cannot run ends the driver with a non-zero status: EMR marks the run FAILED."""
    entry, code_zip = package.build(tmp_path / "dist")
    done = subprocess.run(
        [sys.executable, str(entry), JOB_URI_FLAG, str(tmp_path / "missing.json")],
        env={**os.environ, "PYTHONPATH": str(code_zip)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert "silver job failed" in done.stderr
    assert "missing.json" in done.stderr


def test_the_deployment_creates_both_applications_on_the_release_the_code_names() -> None:
    assert {lane: app["releaseLabel"] for lane, app in DEPLOYED_APPLICATIONS.items()} == {
        DAILY_LANE: EMR_RELEASE_LABEL,
        BACKFILL_LANE: EMR_RELEASE_LABEL,
    }


def test_an_application_of_another_release_is_refused_before_any_job(aws: Aws) -> None:
    older = aws.emr.create_application(name="finsight-old", releaseLabel="emr-7.5.0", type="SPARK")[
        "applicationId"
    ]
    resource = _resource(aws, application_id_daily=older)
    job = SilverJob(
        transform="customers",
        files_by_date={MAR_3: ["s3://lake/raw/customers/business_date=2025-03-03/part-0.parquet"]},
        staging_uri="s3://lake/staging/silver_customers/daily",
    )
    result, logs = _materialize(resource, job, {LANE_TAG: DAILY_LANE}, raise_on_error=False)
    assert not result.success
    (failure,) = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert f"runs release emr-7.5.0; silver's jobs need {EMR_RELEASE_LABEL}" in str(
        failure.event_specific_data.error
    )
    # Refused before submitting: no job was started on it.
    assert not any("on EMR Serverless application" in message for _, message in logs)
