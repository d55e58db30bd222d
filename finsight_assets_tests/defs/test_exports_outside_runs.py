"""Partner files an approved held publish writes (outside any run) reach Dagster as the export
days' latest materializations, naming the manifest, once each."""

from __future__ import annotations

import dagster as dg

from finsight_assets.defs.resources.local import DuckDBWarehouseResource, LocalLakeResource
from finsight_assets.defs.sensors import build_sensors
from finsight_assets.lib.backfills import events
from finsight_assets.lib.settings import Settings
from finsight_assets_tests.lib.backfills.test_held_approval import loaded_backfills, plan_held
from finsight_assets_tests.lib.layers.test_bound_dates import DAY1

EXPORT = dg.AssetKey(["exports", "partner_daily_export"])


def test_an_approved_held_publish_reports_the_partner_files_it_wrote(home):
    backfills = loaded_backfills()
    manifest_id = plan_held(backfills, allow_side_effects=True)
    backfills.approve(manifest_id, "bob", backfills.evidence_digest(manifest_id))
    (published,) = [
        e for e in backfills.store.events(manifest_id) if e["event"] == events.PUBLISHED_HELD
    ]
    settings = Settings.from_env()
    resources = {
        "lake": LocalLakeResource(root=str(settings.lake)),
        "warehouse": DuckDBWarehouseResource(database=str(settings.warehouse_path)),
    }
    (sensor,) = [s for s in build_sensors(settings) if s.name == "exports_outside_runs"]
    with dg.instance_for_test() as instance:
        context = dg.build_sensor_context(instance=instance, resources=resources)
        sensor(context)
        again = dg.build_sensor_context(
            instance=instance, resources=resources, cursor=context.cursor
        )
        assert sensor(again).skip_message == "no file written"
        records = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=EXPORT, asset_partitions=[DAY1.isoformat()]), limit=5
        ).records
    (record,) = records
    assert record.run_id == ""
    materialization = record.asset_materialization
    assert materialization.description == "written on approval of the held publish"
    assert materialization.metadata["manifest_id"].value == manifest_id
    assert materialization.metadata["files"].value == published["exports"]
    assert materialization.metadata["suppressed"].value is False
