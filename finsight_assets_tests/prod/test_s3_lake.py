"""The lake on S3, against moto's S3 server: observation, footers, staging, exports.

The production resources are loaded exactly as FINSIGHT_ENV=prod loads them, with the
placeholder settings of deploy/prod/env.example; only the endpoint points at moto.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import boto3
import dagster as dg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from finsight_assets.defs.build import build_definitions
from finsight_assets.defs.resources.environment import lake_and_warehouse, resources_for
from finsight_assets.defs.resources.prod import S3LakeResource, SnowflakeWarehouseResource
from finsight_assets.dev.synthetic import generate_raw
from finsight_assets.lib.backfills.manifests import ManifestError
from finsight_assets.lib.backfills.operations import open_backfills
from finsight_assets.lib.engines.lake import LocalLake
from finsight_assets.lib.engines.s3_lake import S3Lake
from finsight_assets.lib.layers.raw_files import data_version, inspect_partition
from finsight_assets.lib.layers.silver_inputs import read_usd_rates
from finsight_assets.lib.settings import Settings
from finsight_assets_tests.fakesnowflake import fake_snowflake, recorded_connections
from finsight_assets_tests.prod.aws import aws_endpoint  # noqa: F401  (fixture)

ENV_EXAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "prod" / "env.example"
FIRST = date(2025, 3, 1)
DAYS = [FIRST + timedelta(days=i) for i in range(3)]
CLOCK = datetime(2025, 3, 10, 9, 0, tzinfo=UTC)


def placeholder_settings() -> dict[str, str]:
    pairs = (
        line.split("=", 1)
        for line in ENV_EXAMPLE.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    )
    return {name.strip(): value.strip() for name, value in pairs}


@pytest.fixture
def prod_env(monkeypatch, aws_endpoint):  # noqa: F811
    settings = placeholder_settings()
    for name, value in settings.items():
        if not name.startswith("AWS_"):
            monkeypatch.setenv(name, value)
    monkeypatch.setenv("FINSIGHT_START_DATE", FIRST.isoformat())
    return settings


@pytest.fixture
def landed(tmp_path, prod_env):
    """Three days of raw files generated locally and uploaded under the lake's raw/ prefix."""
    local = LocalLake(tmp_path / "lake")
    generate_raw(local.root, DAYS[0], DAYS[-1], rows_per_day=300, seed=5)
    s3 = boto3.client("s3")
    bucket, prefix = prod_env["FINSIGHT_S3_BUCKET"], prod_env["FINSIGHT_S3_PREFIX"]
    s3.create_bucket(Bucket=bucket)
    for path in sorted((local.root / "raw").rglob("*.parquet")):
        key = f"{prefix}/{path.relative_to(local.root).as_posix()}"
        s3.upload_file(str(path), bucket, key)
    with lake_and_warehouse(Settings.from_env()) as (lake, _):
        yield local, lake.get_lake(), s3


def test_prod_resources_load_under_the_same_keys(prod_env):
    defs = build_definitions(Settings.from_env())
    resources = resources_for(Settings.from_env())
    assert set(resources) == {"lake", "warehouse", "spark"}
    assert isinstance(resources["lake"], S3LakeResource)
    assert isinstance(resources["warehouse"], SnowflakeWarehouseResource)
    assert defs.resolve_job_def("daily_lakehouse") is not None
    for lane in ("daily", "backfill"):
        args = getattr(resources["warehouse"], lane).additional_snowflake_connection_args
        assert args["arrow_number_to_decimal"] is True and args["paramstyle"] == "qmark"
    graph = defs.resolve_asset_graph()
    for name in ("daily_customer_summary", "segment_daily_report", "account_daily_balance"):
        assert graph.get(dg.AssetKey(["gold", name])).kinds == {"sql", "snowflake"}
    with dg.build_resources(resources) as built:
        assert built.lake.root_uri == "s3://finsight-lake/finsight"


def test_a_missing_setting_is_named_when_a_run_starts(prod_env, monkeypatch):
    monkeypatch.delenv("FINSIGHT_S3_BUCKET")
    build_definitions(Settings.from_env())  # loading needs no settings
    with (
        pytest.raises(dg.DagsterInvalidConfigError, match="FINSIGHT_S3_BUCKET"),
        dg.build_resources(resources_for(Settings.from_env())),
    ):
        pass


def test_raw_partitions_come_from_one_listing_with_etags(landed):
    local, lake, _ = landed
    assert isinstance(lake, S3Lake)
    for table in ("transactions", "fx_rates", "customers"):
        on_s3 = lake.raw_partitions(table)
        assert sorted(on_s3) == DAYS
        for d, files in on_s3.items():
            expected = local.raw_files(table, d)
            assert [(f.name, f.size) for f in files] == [(f.name, f.size) for f in expected]
            # Single-part uploads: the ETag is the content's MD5.
            assert [f.digest for f in files] == [
                hashlib.md5(Path(f.uri).read_bytes()).hexdigest() for f in expected
            ]
            assert lake.raw_files(table, d) == files


def test_a_redelivered_object_changes_only_its_partition_version(landed, prod_env):
    _, lake, s3 = landed
    before = {d: data_version(files) for d, files in lake.raw_partitions("transactions").items()}
    file = lake.raw_files("transactions", DAYS[1])[0]
    table = pq.read_table(lake.open_input(file.uri)).slice(1)
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    key = file.uri.removeprefix(f"s3://{prod_env['FINSIGHT_S3_BUCKET']}/")
    s3.put_object(Bucket=prod_env["FINSIGHT_S3_BUCKET"], Key=key, Body=sink.getvalue().to_pybytes())
    after = {d: data_version(files) for d, files in lake.raw_partitions("transactions").items()}
    assert after[DAYS[1]] != before[DAYS[1]]
    assert {d: v for d, v in after.items() if d != DAYS[1]} == {
        d: v for d, v in before.items() if d != DAYS[1]
    }


def test_footers_and_fx_rates_are_read_through_s3(landed):
    local, lake, _ = landed
    for d in DAYS:
        assert inspect_partition(lake, "transactions", d).rows == (
            inspect_partition(local, "transactions", d).rows
        )
        assert read_usd_rates(lake, inspect_partition(lake, "fx_rates", d)) == read_usd_rates(
            local, inspect_partition(local, "fx_rates", d)
        )


def test_staging_is_private_to_a_run_and_removed(landed):
    _, lake, _ = landed
    uri = lake.staging_uri("silver_transactions", "run-1")
    assert uri == "s3://finsight-lake/finsight/staging/silver_transactions/run=run-1"
    table = pa.table({"n": [1, 2, 3]})
    for name in ("part-0.parquet", "part-1.parquet", "_SUCCESS"):
        bucket_key = f"{uri.removeprefix('s3://')}/{name}"
        with lake.filesystem.open_output_stream(bucket_key) as out:
            if name.endswith(".parquet"):
                pq.write_table(table, out)
    files = lake.parquet_files(uri)
    assert files == [f"{uri}/part-0.parquet", f"{uri}/part-1.parquet"]
    assert sum(pq.read_table(lake.open_input(f)).num_rows for f in files) == 6
    lake.remove_staging(uri)
    assert lake.parquet_files(uri) == []
    assert lake.parquet_files(lake.staging_uri("silver_transactions", "other")) == []


def test_exports_are_uploaded_whole(landed, tmp_path):
    _, lake, s3 = landed
    local = tmp_path / "export.csv"
    local.write_text("business_date,customer_id\n2025-03-01,C1\n")
    uri = lake.put_export(local, "partner_daily_export_2025-03-01.csv")
    assert uri == "s3://finsight-lake/finsight/exports/partner_daily_export_2025-03-01.csv"
    body = s3.get_object(
        Bucket="finsight-lake", Key="finsight/exports/partner_daily_export_2025-03-01.csv"
    )["Body"].read()
    assert body == b"business_date,customer_id\n2025-03-01,C1\n"
    assert not local.exists()


def test_the_observation_job_reads_data_versions_from_s3(landed, prod_env):
    _, lake, s3 = landed
    bucket, prefix = prod_env["FINSIGHT_S3_BUCKET"], prod_env["FINSIGHT_S3_PREFIX"]
    gap = DAYS[1]
    listed = s3.list_objects_v2(
        Bucket=bucket, Prefix=f"{prefix}/raw/transactions/business_date={gap.isoformat()}/"
    )
    for item in listed["Contents"]:
        s3.delete_object(Bucket=bucket, Key=item["Key"])
    for key in ("business_date=2026-02-30/part-0.parquet", "business_date=2025-03-09/_SUCCESS"):
        s3.put_object(Bucket=bucket, Key=f"{prefix}/raw/transactions/{key}", Body=b"")
    defs = build_definitions(Settings.from_env())
    result = defs.resolve_job_def("observe_raw").execute_in_process(
        instance=dg.DagsterInstance.ephemeral()
    )
    assert result.success
    landed = {
        (event.asset_key.path[-1], event.partition): event.materialization
        for event in result.get_asset_materialization_events()
    }
    observed = {
        (event.asset_key.path[-1], event.partition): event.asset_observation_data.asset_observation
        for event in result.get_asset_observation_events()
    }
    for d in (DAYS[0], DAYS[-1]):
        version = landed[("transactions", d.isoformat())].tags["dagster/data_version"]
        # From the listing's names, sizes and ETags (a local lake hashes contents instead).
        assert version == data_version(lake.raw_files("transactions", d))
    # A day without files before the latest delivery is a gap; later days are not observed.
    assert ("transactions", gap.isoformat()) not in landed
    assert observed[("transactions", gap.isoformat())].tags["dagster/data_version"] == (
        data_version([])
    )
    assert ("transactions", (DAYS[-1] + timedelta(days=1)).isoformat()) not in observed
    assert ("transactions", (DAYS[-1] + timedelta(days=1)).isoformat()) not in landed
    (summary,) = [
        e.asset_observation_data.asset_observation.metadata
        for e in result.get_asset_observation_events()
        if e.asset_key.path[-1] == "transactions" and e.partition is None
    ]
    assert set(summary["folders_without_data"].value) == {
        "business_date=2026-02-30",
        "business_date=2025-03-09",
    }


def test_operator_commands_reach_snowflake_as_the_engineer(prod_env, tmp_path, monkeypatch):
    """`finsight backfill` in prod: the warehouse as SNOWFLAKE_OPERATOR_USER (dagster-snowflake,
    then the connector, on fakesnow); that session's user is who acts, and --by is refused."""
    settings = Settings.from_env()
    with (
        fake_snowflake(tmp_path, monkeypatch),
        recorded_connections() as opened,
        lake_and_warehouse(settings, as_operator=True) as (lake, warehouse),
    ):
        backfills = open_backfills(
            settings, lambda: CLOCK, lake=lake.get_lake(), connect=warehouse.connect
        )
        assert backfills.identity.who(None) == prod_env["SNOWFLAKE_OPERATOR_USER"]
        with pytest.raises(ManifestError, match="refused here"):
            backfills.identity.who("someone-else")
    (used,) = {(c["user"], c["role"], c.get("authenticator")) for c in opened}
    assert used == (
        prod_env["SNOWFLAKE_OPERATOR_USER"],
        prod_env["SNOWFLAKE_OPERATOR_ROLE"],
        prod_env["SNOWFLAKE_OPERATOR_AUTHENTICATOR"],
    )
