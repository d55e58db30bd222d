"""Gold reads exactly the silver versions it records as its inputs, on DuckDB and on the
Snowflake flavour: a second session republishes silver while gold computes and rolls the
republish back before gold publishes; gold publishes what the restored version gives, never the
rows of the version in between recorded against the restored one."""

from __future__ import annotations

from contextlib import contextmanager
from decimal import Decimal

import pytest

from finsight_assets.lib.contract.run_tags import LIVE
from finsight_assets.lib.layers import gold
from finsight_assets.lib.tables.gold_daily_customer_summary import GOLD_DAILY_CUSTOMER_SUMMARY
from finsight_assets.lib.tables.silver_transactions import SILVER_TRANSACTIONS
from finsight_assets.lib.wap import publish
from finsight_assets.lib.wap.model import RunInfo
from finsight_assets.lib.wap.rollback import rollback
from finsight_assets.lib.wap.versions import current_versions
from finsight_assets_tests.lib.layers.test_bound_dates import (
    CLOCK,
    DAY1,
    _publish_silver,
    _transaction,
)

# The start of the name of gold.daily_customer_summary's staging table.
GOLD_STAGED = "gold__daily_customer_summary__"
# C1's deposit corrected from 100.00 to 200.00: the version republished and rolled back.
CORRECTED = " UNION ALL ".join(
    [
        _transaction(DAY1, "E1", "A1", "C1", "DEPOSIT", "200.00"),
        _transaction(DAY1, "E2", "A1", "C1", "PURCHASE", "30.00"),
        _transaction(DAY1, "E3", "A2", "C2", "DEPOSIT", "50.00"),
    ]
)


class Interleaved:
    """Gold's session; the other session acts right before gold stages its rows, and again
    after that statement (`after_stage`) or when gold begins its publish transaction."""

    def __init__(self, inner, before_stage, restore, restore_after_stage: bool):
        self.inner, self.before_stage, self.restore = inner, before_stage, restore
        self.restore_after_stage = restore_after_stage
        self.done: list[str] = []

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def execute(self, sql: str, params=()) -> None:
        staging = (
            sql.startswith("CREATE")
            and f"{self.inner.staging_schema}.{GOLD_STAGED}" in sql
            and "republished" not in self.done
        )
        if staging:
            self.before_stage()
            self.done.append("republished")
        self.inner.execute(sql, params)
        if staging and self.restore_after_stage:
            self.restore()
            self.done.append("restored")

    @contextmanager
    def transaction(self):
        if "restored" not in self.done:
            self.restore()
            self.done.append("restored")
        with self.inner.transaction():
            yield


@pytest.mark.parametrize("restore_after_stage", [True, False], ids=["after-stage", "before-lock"])
def test_gold_never_publishes_from_a_silver_version_republished_and_rolled_back_under_it(
    connect, restore_after_stage
):
    with connect() as gold_session, connect() as other:
        _publish_silver(gold_session)
        (v1,) = current_versions(other, SILVER_TRANSACTIONS.qualified_name, [DAY1]).values()
        republished = []

        def republish() -> None:
            _, done = publish.write_audit_publish(
                other,
                SILVER_TRANSACTIONS,
                RunInfo("republish", LIVE, CLOCK),
                "1",
                {DAY1: "in2"},
                CORRECTED,
                checks=[],
            )
            republished.extend(done.versions)

        def restore() -> None:
            rollback(
                other,
                SILVER_TRANSACTIONS,
                [v.version_id for v in republished],
                RunInfo("undo", LIVE, CLOCK),
            )

        session = Interleaved(gold_session, republish, restore, restore_after_stage)
        result = gold.build_gold(
            session, RunInfo("gold", LIVE, CLOCK), GOLD_DAILY_CUSTOMER_SUMMARY, [DAY1], "1"
        )
        assert session.done == ["republished", "restored"]
        assert current_versions(other, SILVER_TRANSACTIONS.qualified_name, [DAY1]) == {DAY1: v1}
        assert result.failed == {}
        net = other.fetchall(
            "SELECT customer_id, net_flow_usd FROM gold.daily_customer_summary "
            "WHERE business_date = ? ORDER BY 1",
            [DAY1],
        )
        # Computed from v1 (100.00 - 30.00), the version it records, not the 200.00 between.
        assert net == [("C1", Decimal("70.00")), ("C2", Decimal("50.00"))]
