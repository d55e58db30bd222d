"""Each lane reaches Snowflake with its own user, role and warehouse (dagster-snowflake, fakesnow)."""

from __future__ import annotations

import dagster as dg
from dagster_aws.s3 import S3Resource
from dagster_snowflake import SnowflakeResource

from finsight_assets.defs.resources.local import WarehouseResource
from finsight_assets.defs.resources.prod import S3LakeResource, SnowflakeWarehouseResource
from finsight_assets.lib.contract.run_tags import (
    BACKFILL_ID_TAG,
    BACKFILL_LANE,
    DAILY_LANE,
    LANE_TAG,
)
from finsight_assets.lib.engines.snowflake_warehouse import CONNECTION_ARGUMENTS
from finsight_assets_tests.fakesnowflake import DATABASE, fake_snowflake, recorded_connections


def lane_resource(lane: str) -> SnowflakeResource:
    upper = lane.upper()
    return SnowflakeResource(
        account="finsight-test",
        user=f"FINSIGHT_{upper}",
        password="not-a-secret",
        database=DATABASE,
        role=f"FINSIGHT_{upper}",
        warehouse=f"FINSIGHT_{upper}_WH",
        timezone="UTC",
        # As production's resources connect (see test_s3_lake.py).
        additional_snowflake_connection_args=dict(CONNECTION_ARGUMENTS),
    )


@dg.asset
def touches_the_warehouse(warehouse: WarehouseResource) -> dg.MaterializeResult:
    with warehouse.connect() as connection:
        (count,) = connection.fetchall("SELECT COUNT(*) FROM audit.partition_versions")[0]
    return dg.MaterializeResult(metadata={"versions": count})


def test_the_run_lane_picks_the_snowflake_connection(tmp_path, monkeypatch):
    resource = SnowflakeWarehouseResource(
        daily=lane_resource(DAILY_LANE),
        backfill=lane_resource(BACKFILL_LANE),
        lake=S3LakeResource(s3=S3Resource(region_name="us-east-1"), bucket="lake", prefix="fs"),
    )
    with fake_snowflake(tmp_path, monkeypatch), recorded_connections() as opened:
        for tags in ({LANE_TAG: DAILY_LANE}, {LANE_TAG: BACKFILL_LANE}, {BACKFILL_ID_TAG: "abc"}):
            result = dg.materialize(
                [touches_the_warehouse], resources={"warehouse": resource}, tags=tags
            )
            assert result.success
    assert [(c["user"], c["role"], c["warehouse"]) for c in opened] == [
        ("FINSIGHT_DAILY", "FINSIGHT_DAILY", "FINSIGHT_DAILY_WH"),
        ("FINSIGHT_BACKFILL", "FINSIGHT_BACKFILL", "FINSIGHT_BACKFILL_WH"),
        ("FINSIGHT_BACKFILL", "FINSIGHT_BACKFILL", "FINSIGHT_BACKFILL_WH"),
    ]
    assert all(c["timezone"] == "UTC" for c in opened)
