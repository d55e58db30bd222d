"""A backfill's lifecycle stage, derived from its events, approvals and Dagster's progress."""

from __future__ import annotations

from finsight_assets.lib.backfills import stages
from finsight_assets.lib.backfills.lifecycle import stage_of
from finsight_assets.lib.backfills.progress import Progress
from finsight_assets.lib.contract.run_tags import BACKFILL, DRY_RUN
from finsight_assets.lib.engines.webserver import BackfillState

PLANNED = [{"event": "planned"}]
LAUNCHED = [*PLANNED, {"event": "launched", "backfill_id": "b1"}]


def seen(status: str, done: int, failed: int, targeted: int = 4) -> Progress:
    state = BackfillState(backfill_id="b1", status=status, assets=[], runs=[], tags={})
    return Progress("m", [state], targeted, done, failed, 0, 0, 1.0, status != "REQUESTED")


def test_before_launch_it_is_planned():
    assert stage_of(PLANNED, BACKFILL, None) == stages.PLANNED


def test_after_launch_dagster_says_how_it_went():
    assert stage_of(LAUNCHED, BACKFILL, seen("REQUESTED", 1, 0)) == stages.RUNNING
    assert stage_of(LAUNCHED, BACKFILL, seen("COMPLETED", 4, 0)) == stages.PUBLISHED
    assert stage_of(LAUNCHED, DRY_RUN, seen("COMPLETED", 4, 0)) == stages.AUDITED
    partial = seen("COMPLETED_FAILED", 3, 1)
    assert stage_of(LAUNCHED, BACKFILL, partial) == stages.PARTIALLY_FAILED
    assert stage_of(LAUNCHED, BACKFILL, seen("FAILED", 0, 4)) == stages.FAILED
    assert stage_of(LAUNCHED, BACKFILL, None) == stages.LAUNCHED_UNKNOWN


def test_a_held_backfill_awaits_approval_then_publishes_or_is_rejected():
    done = seen("COMPLETED", 4, 0)
    assert stage_of(LAUNCHED, BACKFILL, done, holds=True) == stages.AWAITING_APPROVAL
    assert stage_of(LAUNCHED, BACKFILL, done, holds=True, approved=True) == stages.HELD
    assert stage_of(LAUNCHED, BACKFILL, seen("REQUESTED", 2, 0), holds=True) == stages.RUNNING
    published = [*LAUNCHED, {"event": "published_held", "refused": []}]
    assert stage_of(published, BACKFILL, done) == stages.PUBLISHED
    refused = [*LAUNCHED, {"event": "published_held", "refused": [{"asset": "a"}]}]
    assert stage_of(refused, BACKFILL, done) == stages.PARTIALLY_FAILED
    rejected = [*LAUNCHED, {"event": "rejected"}]
    assert stage_of(rejected, BACKFILL, done) == stages.REJECTED


def test_a_cancel_in_the_ui_is_a_cancel_not_failures():
    cancelled_in_ui = seen("CANCELED", 1, 3)
    assert stage_of(LAUNCHED, BACKFILL, cancelled_in_ui) == stages.CANCELLED
    cancelled_here = [*LAUNCHED, {"event": "cancelled"}]
    assert stage_of(cancelled_here, BACKFILL, seen("COMPLETED", 1, 3)) == stages.CANCELLED
    rolled_back = [*LAUNCHED, {"event": "rolled_back"}]
    assert stage_of(rolled_back, BACKFILL, seen("COMPLETED", 4, 0)) == stages.ROLLED_BACK
