"""A UI backfill whose selection left the export out runs its whole scope: the follow-on the
manifests sensor launches carries the export days, under the side-effect guard, and progress
counts every day of the scope. A real webserver and daemon; a short range, one stack."""

from __future__ import annotations

import json
from datetime import date, timedelta

import dagster as dg
import pytest

from finsight_assets.dev.stack import wait_for
from finsight_assets.lib.backfills.store import ManifestStore
from finsight_assets.lib.engines.duckdb_warehouse import duckdb_connector
from finsight_assets.lib.engines.webserver import PartitionRange
from finsight_assets.lib.tables.registry import TABLES_BY_NAME
from finsight_assets_tests.stacks import running_stack

S = date(2025, 3, 1)
TERMINAL = {"COMPLETED", "COMPLETED_SUCCESS", "COMPLETED_FAILED", "FAILED", "CANCELED"}
EXPORT = ["exports", "partner_daily_export"]


def day(n: int) -> date:
    return S + timedelta(days=n)


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with running_stack(
        tmp_path_factory.mktemp("scope"), S, 4, 4, rows_per_day=100, seed=5
    ) as running:
        yield running


def finished(stack, backfill_id: str):
    return wait_for(
        lambda: (state := stack.webserver.backfill(backfill_id)).status in TERMINAL and state,
        600,
        f"backfill {backfill_id} to finish",
        every=3,
    )


def test_the_export_left_out_of_a_ui_selection_runs_in_the_follow_on(stack):
    first, last = day(1), day(2)
    backfill_id = stack.webserver.launch_backfill(
        [
            PartitionRange(name.split("."), first.isoformat(), last.isoformat())
            for name in TABLES_BY_NAME
        ],
        tags={},
        title="silver and gold from the UI",
        description="",
    )
    store = ManifestStore(duckdb_connector(stack.home / "warehouse.duckdb"))
    manifest_id = f"ui-{backfill_id}"
    wait_for(lambda: store.exists(manifest_id), 120, "the UI backfill's manifest")
    ranges = store.get(manifest_id).ranges
    scope = {r.asset: (r.start, r.end) for r in ranges}
    assert scope[".".join(EXPORT)] == (first, last)
    assert finished(stack, backfill_id).status.startswith("COMPLETED")

    launched = wait_for(
        lambda: len(ids := store.backfill_ids(manifest_id)) > 1 and ids,
        180,
        "the follow-on that completes the scope",
        every=3,
    )
    follow_on = finished(stack, launched[-1])
    assert follow_on.status.startswith("COMPLETED")
    assert {a.asset: a.materialized for a in follow_on.assets} == {".".join(EXPORT): 2}

    instance = dg.DagsterInstance.from_config(str(stack.home / "dagster"))
    runs = {r.run_id for r in follow_on.runs}
    for d in (first, last):
        (record,) = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=dg.AssetKey(EXPORT), asset_partitions=[d.isoformat()]),
            limit=1,
        ).records
        assert record.run_id in runs
        # A UI manifest allows no side effects: the day ran, wrote nothing, and says why.
        metadata = record.asset_materialization.metadata
        assert metadata["suppressed"].value is True
        assert "allow_side_effects" in metadata["reason"].value

    done = stack.finsight("backfill", "status", manifest_id, "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    partitions = json.loads(done.stdout[done.stdout.index("{") :])["progress"]["partitions"]
    # Every day of the scope, the export's too (the balance's reaches the days it rolls into).
    assert partitions["targeted"] == partitions["done"] == sum(r.days for r in ranges)
    assert partitions["targeted"] > sum(r.days for r in ranges if r.asset in TABLES_BY_NAME)
