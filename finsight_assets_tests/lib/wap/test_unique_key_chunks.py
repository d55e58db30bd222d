"""The unique-key audit groups a bounded number of staged rows per statement: whole days in
order, a day larger than the bound alone; every day's verdict and count as one statement gives."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from finsight_assets.lib.tables.silver_customers import SILVER_CUSTOMERS
from finsight_assets.lib.wap import publish
from finsight_assets.lib.wap.audits import generic
from finsight_assets.lib.wap.model import AuditInputs, RunInfo
from finsight_assets.lib.wap.profile import empty_day
from finsight_assets_tests.lib.wap.test_publish import candidates

FIRST = date(2025, 3, 3)
# Per day: its customers (a repeated id is a duplicated key).
DAYS = {
    FIRST: ["C1", "C1", "C2"],
    FIRST + timedelta(days=1): ["C1", "C2", "C3"],
    FIRST + timedelta(days=2): ["C1", "C2", "C2", "C3", "C3", "C4", "C5", "C6"],
    FIRST + timedelta(days=3): ["C1", "C2"],
    FIRST + timedelta(days=4): ["C7", "C7"],
}


class StatementLog:
    """The warehouse, the answers of its statements that group staged rows by the key recorded."""

    def __init__(self, inner):
        self.inner = inner
        self.grouping: list[list[tuple]] = []

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def fetchall(self, sql: str, params=()):
        rows = self.inner.fetchall(sql, params)
        if "HAVING COUNT(*) > 1" in sql:
            self.grouping.append(rows)
        return rows


@pytest.fixture
def staged(connect):
    run = RunInfo(run_id="chunks", mode="LIVE", clock=datetime(2025, 3, 9, tzinfo=UTC))
    candidate = " UNION ALL ".join(
        candidates(d, *((c, "SMB") for c in customers)) for d, customers in DAYS.items()
    )
    with connect() as warehouse:
        yield (
            warehouse,
            publish.stage(
                warehouse, SILVER_CUSTOMERS, run, "1", {d: "input" for d in DAYS}, candidate
            ),
        )


@pytest.mark.parametrize(
    ("bound", "statements"),
    [
        # 3 + 3 rows, then the 8-row day alone (beyond the bound), then 2 + 2.
        (6, 3),
        # One statement for everything, as before the bound.
        (100, 1),
        # Each day alone.
        (1, 5),
    ],
)
def test_each_day_is_judged_alike_however_the_days_are_grouped(
    staged, monkeypatch, bound, statements
):
    warehouse, partitions = staged
    monkeypatch.setattr(generic, "KEY_ROWS_PER_STATEMENT", bound)
    logged = StatementLog(warehouse)
    outcome = generic.unique_key(logged, partitions, AuditInputs())
    assert len(logged.grouping) == statements
    # Each statement reads its own days only: the three days with a duplicate, once each.
    assert sorted(d for rows in logged.grouping for d, _ in rows) == [
        FIRST,
        FIRST + timedelta(days=2),
        FIRST + timedelta(days=4),
    ]
    assert outcome.metadata["duplicated_keys"] == {
        FIRST.isoformat(): 1,
        (FIRST + timedelta(days=2)).isoformat(): 2,
        (FIRST + timedelta(days=4)).isoformat(): 1,
    }
    assert outcome.by_date == {d: len(set(c)) == len(c) for d, c in DAYS.items()}
    assert not outcome.passed and outcome.summary.startswith("4 duplicated key(s)")


def test_days_are_grouped_in_order_up_to_the_bound():
    rows = {FIRST + timedelta(days=i): n for i, n in enumerate([3, 3, 8, 0, 2, 2, 1])}
    profiles = {d: replace(empty_day(SILVER_CUSTOMERS), rows=n) for d, n in rows.items()}
    days = sorted(rows)
    assert generic._day_chunks(profiles, 6) == [
        days[0:2],
        [days[2]],
        [days[4], days[5], days[6]],
    ]
