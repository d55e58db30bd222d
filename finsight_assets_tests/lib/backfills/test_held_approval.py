"""What was approved is exactly what goes live, through the backfill operations (as `finsight
backfill approve` / `publish` call them): held rows edited after the digest, a hold landing
between approve's digest check and the publish, an approval while Dagster cannot say whether
runs still hold, a publish stopped between its units, and the partner files of the published
days."""

from __future__ import annotations

import csv
from datetime import timedelta
from pathlib import Path

import pytest

from finsight_assets.lib.backfills import events, stages
from finsight_assets.lib.backfills.manifests import ManifestError
from finsight_assets.lib.backfills.operations import Backfills
from finsight_assets.lib.layers.exports import partner_export_name
from finsight_assets.lib.tables import registry
from finsight_assets.lib.wap import held_publish
from finsight_assets.lib.wap.model import PublishError
from finsight_assets.lib.wap.versions import all_current_versions
from finsight_assets_tests.held import (
    HELD_IDS,
    OPERATED_AT,
    hold_customers,
    hold_two_units,
    home_backfills,
    publish_live,
)
from finsight_assets_tests.lib.layers.test_bound_dates import DAY1

SILVER, SUMMARY = "silver.transactions", "gold.daily_customer_summary"


def loaded_backfills() -> Backfills:
    """Two published days (no Spark), and the backfill operations of the home."""
    opened = home_backfills()
    publish_live(opened.connect)
    return opened


@pytest.fixture
def backfills(home) -> Backfills:
    return loaded_backfills()


def plan_held(backfills: Backfills, allow_side_effects: bool = False) -> str:
    """A backfill that needs one approval, whose run held silver and the summary of DAY1."""
    manifest = backfills.plan(
        reason="corrected delivery",
        requested_by="ann",
        requested_dates={SILVER: [DAY1 + timedelta(days=i) for i in range(8)]},
        allow_side_effects=allow_side_effects,
    )
    assert manifest.approvals_required == 1
    hold_two_units(backfills.connect, backfills.lake, manifest.id)
    return manifest.id


def live(backfills: Backfills) -> tuple[dict, dict]:
    with backfills.connect() as warehouse:
        rows = {t: warehouse.fetchall(f"SELECT * FROM {t} ORDER BY ALL") for t in (SILVER, SUMMARY)}
        return all_current_versions(warehouse), rows


def test_an_approver_on_another_checkout_publishes_what_the_manifests_code_computed(
    backfills, monkeypatch
):
    manifest_id = plan_held(backfills)
    digest = backfills.evidence_digest(manifest_id)
    # The approver's process runs other code versions than the runs that held the versions.
    for name in (SILVER, SUMMARY):
        monkeypatch.setitem(registry.CODE_VERSIONS, name, "approvers-checkout")
    approval = backfills.approve(manifest_id, "bob", digest)
    assert approval.published is not None and approval.published.refused == {}
    assert sorted({v.table_name for v in approval.published.published}) == [SUMMARY, SILVER]


def test_held_rows_updated_after_the_digest_are_refused_by_name_and_nothing_goes_live(backfills):
    manifest_id = plan_held(backfills)
    digest = backfills.evidence_digest(manifest_id)
    before = live(backfills)
    with backfills.connect() as warehouse:
        warehouse.execute(
            "UPDATE versions.gold__daily_customer_summary SET net_flow_usd = net_flow_usd + 1000 "
            f"WHERE _version_id IN ({HELD_IDS})",
            [manifest_id],
        )
    # The records did not change, so neither did the digest: the approval is of these rows.
    assert backfills.evidence_digest(manifest_id) == digest
    with pytest.raises(PublishError) as refused:
        backfills.approve(manifest_id, "bob", digest)
    assert f"{SUMMARY} {DAY1}" in str(refused.value) and "checksum" in str(refused.value)
    assert live(backfills) == before


def test_a_hold_between_approves_digest_check_and_the_publish_is_not_published(
    backfills, monkeypatch
):
    manifest_id = plan_held(backfills)
    digest = backfills.evidence_digest(manifest_id)
    before = live(backfills)
    approve = backfills.store.approve

    def approved_then_a_retry_holds(*args, **kwargs):
        given = approve(*args, **kwargs)
        # A retry's run of the backfill holds the day again, computed from another delivery.
        hold_two_units(backfills.connect, backfills.lake, manifest_id, "900.00", run_id="retry")
        return given

    monkeypatch.setattr(backfills.store, "approve", approved_then_a_retry_holds)
    with pytest.raises(PublishError) as refused:
        backfills.approve(manifest_id, "bob", digest)
    assert f"{SILVER} {DAY1}" in str(refused.value)
    assert live(backfills) == before
    # What is held now is other evidence: it needs its own approval.
    assert backfills.stage(manifest_id) == stages.AWAITING_APPROVAL
    with pytest.raises(ManifestError, match="not approved"):
        backfills.publish_held(manifest_id)


def test_approval_waits_while_dagster_cannot_say_whether_runs_still_hold(backfills):
    manifest_id = plan_held(backfills)
    backfills.store.record(manifest_id, events.LAUNCHED, OPERATED_AT, backfill_id="bf-dagster-1")
    assert backfills.stage(manifest_id) == stages.LAUNCHED_UNKNOWN
    before = live(backfills)
    with pytest.raises(ManifestError, match="Dagster unreachable"):
        backfills.approve(manifest_id, "bob", backfills.evidence_digest(manifest_id))
    assert live(backfills) == before and backfills.approvals(manifest_id) == []


def test_a_publish_stopped_between_units_is_finished_without_reapproval_and_nothing_more(
    backfills, monkeypatch
):
    manifest_id = plan_held(backfills)
    held = {(h.version.table_name): h.version.version_id for h in backfills.held(manifest_id)}
    replace_partitions = held_publish.replace_partitions

    def killed_at_the_summary(warehouse, table, *args, **kwargs):
        if table.qualified_name == SUMMARY:
            raise KeyboardInterrupt("killed between publish units")
        return replace_partitions(warehouse, table, *args, **kwargs)

    monkeypatch.setattr(held_publish, "replace_partitions", killed_at_the_summary)
    with pytest.raises(KeyboardInterrupt):
        backfills.approve(manifest_id, "bob", backfills.evidence_digest(manifest_id))
    monkeypatch.setattr(held_publish, "replace_partitions", replace_partitions)
    current, _ = live(backfills)
    assert current[(SILVER, DAY1)] == held[SILVER]
    assert current[(SUMMARY, DAY1)] != held[SUMMARY]
    assert backfills.stage(manifest_id) == stages.HELD
    # Meanwhile a run holds a partition the approval did not cover.
    (extra,) = hold_customers(backfills.connect, backfills.lake, manifest_id, DAY1, "C7")

    finished = backfills.publish_held(manifest_id)

    assert [v.version_id for v in finished.published] == [held[SUMMARY]]
    current, _ = live(backfills)
    assert current[(SUMMARY, DAY1)] == held[SUMMARY]
    assert current.get(("silver.customers", DAY1)) != extra.version_id
    assert [h.version.version_id for h in backfills.held(manifest_id)] == [extra.version_id]
    kinds = [e["event"] for e in backfills.store.events(manifest_id)]
    assert kinds.count(events.APPROVED) == 1 and kinds[-1] == events.PUBLISHED_HELD
    assert backfills.stage(manifest_id) == stages.AWAITING_APPROVAL


@pytest.mark.parametrize("allowed", [True, False])
def test_the_approved_held_publish_rewrites_the_partner_file_of_its_days_or_says_why_not(
    backfills, allowed
):
    manifest_id = plan_held(backfills, allow_side_effects=allowed)
    with backfills.connect() as warehouse:
        from finsight_assets.lib.layers.exports import write_partner_export

        path = Path(write_partner_export(warehouse, backfills.lake, DAY1))
    before = path.read_bytes()

    backfills.approve(manifest_id, "bob", backfills.evidence_digest(manifest_id))

    (published,) = [
        e for e in backfills.store.events(manifest_id) if e["event"] == events.PUBLISHED_HELD
    ]
    if allowed:
        assert published["exports"] == [str(path)] and path.name == partner_export_name(DAY1)
        with path.open(newline="") as handle:
            c1 = [row for row in csv.DictReader(handle) if row["customer_id"] == "C1"]
        assert [row["net_flow_usd"] for row in c1] == ["170.00"]
    else:
        assert published["exports"] == [] and path.read_bytes() == before
        assert "does not allow side effects" in published["exports_not_written"]
