"""The approval matrix over what changes, with neighbouring requests: a restatement split into
small requests needs approval as a whole would (`lib/backfills/matrix.py`)."""

from __future__ import annotations

from datetime import timedelta

from finsight_assets_tests.faults import matrix
from finsight_assets_tests.faults.matrix import day


def customers(first: int, days: int) -> dict:
    return {"silver.customers": [day(first + i) for i in range(days)]}


def test_ten_six_day_requests_over_sixty_days_need_approval_after_the_first(home):
    outcome = matrix.split_restatement(home)
    assert outcome.held, outcome
    assert outcome.approvals == [0, 1, 1, 1, 1, 1, 1, 1, 1, 1]


def test_requests_apart_or_outside_the_window_are_counted_alone(home, monkeypatch):
    operations = matrix.backfills()
    first = operations.plan(reason="a", requested_by="ann", requested_dates=customers(0, 6))
    # Two days apart from the first: not adjoining, so counted alone.
    apart = operations.plan(reason="b", requested_by="ann", requested_dates=customers(8, 6))
    assert (first.approvals_required, apart.approvals_required) == (0, 0)
    # Adjoining the first: its own day and the six the first restated unreviewed, seven.
    adjoining = operations.plan(reason="c", requested_by="ann", requested_dates=customers(6, 1))
    assert adjoining.approvals_required == 1
    # Planned after the window of all three: alone again.
    from finsight_assets.lib.backfills.matrix import SPLIT_WINDOW

    later = matrix.CLOCK + SPLIT_WINDOW + timedelta(days=1)
    monkeypatch.setattr(matrix, "CLOCK", later)
    alone = matrix.backfills().plan(reason="d", requested_by="ann", requested_dates=customers(6, 1))
    assert alone.approvals_required == 0
