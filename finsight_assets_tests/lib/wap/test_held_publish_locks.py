"""The held publish locks the silver tables its gold versions were computed from, as a publish
does: while an approved gold version is being published, a silver publish of its source waits
(Snowflake) or refuses (DuckDB), so gold never goes live over a source replaced under it.

Two real DuckDB sessions: the held publish pauses inside its transaction, after its locks and
its source check; the other session tries to republish the silver day meanwhile.
"""

from __future__ import annotations

from finsight_assets.lib.contract.run_tags import LIVE
from finsight_assets.lib.layers import gold
from finsight_assets.lib.tables.gold_daily_customer_summary import GOLD_DAILY_CUSTOMER_SUMMARY
from finsight_assets.lib.tables.registry import TABLES_BY_NAME
from finsight_assets.lib.tables.silver_transactions import SILVER_TRANSACTIONS
from finsight_assets.lib.wap import held_publish, publish
from finsight_assets.lib.wap.model import ConcurrentPublish, RunInfo
from finsight_assets.lib.wap.versions import current_versions
from finsight_assets_tests.lib.layers.test_bound_dates import (
    CLOCK,
    DAY1,
    _publish_silver,
    _transaction,
)
from finsight_assets_tests.lib.wap.test_concurrency import PausingSession, in_thread

MANIFEST = "bf-held-sources"


def test_a_silver_republish_cannot_land_inside_a_held_gold_publish(sessions):
    a, b = sessions
    _publish_silver(a)
    held_run = RunInfo("held", "BACKFILL", CLOCK, manifest_id=MANIFEST, hold=True)
    held = gold.build_gold(a, held_run, GOLD_DAILY_CUSTOMER_SUMMARY, [DAY1], "1").held
    assert list(held) == [GOLD_DAILY_CUSTOMER_SUMMARY.qualified_name]
    (v1,) = current_versions(a, SILVER_TRANSACTIONS.qualified_name, [DAY1]).values()

    paused = PausingSession(a, "DELETE FROM audit.current_versions")
    thread, outcome = in_thread(
        held_publish.publish_held,
        paused,
        MANIFEST,
        RunInfo("approved", "BACKFILL", CLOCK, manifest_id=MANIFEST),
        {name: "1" for name in TABLES_BY_NAME},
        lambda table, d: None,
    )
    assert paused.paused.wait(20), "the held publish never reached its swap"
    corrected = _transaction(DAY1, "E1", "A1", "C1", "DEPOSIT", "200.00")
    refused = None
    try:
        publish.write_audit_publish(
            b,
            SILVER_TRANSACTIONS,
            RunInfo("late", LIVE, CLOCK),
            "1",
            {DAY1: "in2"},
            corrected,
            checks=[],
        )
    except ConcurrentPublish as error:
        refused = error
    paused.resume.set()
    thread.join(20)
    assert "error" not in outcome, outcome.get("error")
    assert [v.table_name for v in outcome["value"].published] == [
        GOLD_DAILY_CUSTOMER_SUMMARY.qualified_name
    ]
    assert refused is not None, "silver was republished inside the held gold publish"
    assert "silver.transactions" in str(refused)
    assert current_versions(b, SILVER_TRANSACTIONS.qualified_name, [DAY1]) == {DAY1: v1}
