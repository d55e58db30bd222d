"""Each export day carries its own provenance, so Dagster's "Unsynced" follows the gold day it
was copied from: fresh after a run that publishes gold and exports it, and after an approved
held publish writes the partner files outside a run."""

from __future__ import annotations

from datetime import timedelta

import dagster as dg

from finsight_assets.cli.materialize import materialize_range, prepare_instance
from finsight_assets.defs.build import build_definitions
from finsight_assets.dev.synthetic import generate_raw
from finsight_assets.lib.settings import Settings
from finsight_assets_tests.defs.test_day_events import (
    START,
    latest,
    report_outside_runs,
    unsynced,
)
from finsight_assets_tests.faults.matrix import backfills

EXPORT = "exports.partner_daily_export"
SUMMARY = ["gold", "daily_customer_summary"]
# Long enough that a backfill of them needs an approval.
DAYS = [START + timedelta(days=i) for i in range(8)]


def export_outside_runs(settings: Settings, instance: dg.DagsterInstance) -> None:
    """One tick of the sensor that reports partner files written outside runs."""
    definitions = build_definitions(settings)
    (sensor,) = [s for s in definitions.sensors if s.name == "exports_outside_runs"]
    sensor(dg.build_sensor_context(instance=instance, resources=definitions.resources))


def test_an_export_day_is_synced_with_the_gold_day_it_was_written_from(home):
    generate_raw(home / "lake", START, DAYS[-1], rows_per_day=200, seed=3)
    settings = Settings.from_env()
    assert [o.success for o in materialize_range(settings, DAYS[0], DAYS[-1])] == [True]
    instance = prepare_instance(settings)
    assert unsynced(settings, instance, DAYS, [EXPORT]) == []
    for d in DAYS:
        event = latest(instance, ["exports", "partner_daily_export"], d).asset_materialization
        assert len(event.metadata["files"].value) == 1, d
        gold = latest(instance, SUMMARY, d)
        assert event.tags["dagster/input_event_pointer/gold/daily_customer_summary"] == str(
            gold.storage_id
        )

    # A held backfill allowed side effects: its run writes no file; approval publishes and
    # writes them outside a run, and both are reported.
    ops = backfills()
    manifest = ops.plan(
        reason="again",
        requested_by="ann",
        start=DAYS[0],
        end=DAYS[-1],
        allow_side_effects=True,
    )
    assert manifest.approvals_required == 1
    tags = manifest.run_tags()
    assert [o.success for o in materialize_range(settings, DAYS[0], DAYS[-1], tags=tags)]
    ops.approve(manifest.id, "bob", ops.evidence_digest(manifest.id))
    # The two sensors tick in either order: here the files are reported first.
    export_outside_runs(settings, instance)
    report_outside_runs(settings, instance, None)
    for d in DAYS:
        event = latest(instance, ["exports", "partner_daily_export"], d)
        assert event.run_id == "" and event.asset_materialization.metadata["manifest_id"].value
    assert unsynced(settings, instance, DAYS, [EXPORT]) == []
