"""What a run without a manifest may replace, read from the audit schema on DuckDB and on the
Snowflake flavour: published history is a day another run published and finished, or that a
manifest published; the daily lane's own day and unfinished first materializations are free."""

from __future__ import annotations

from datetime import UTC, date, datetime

from finsight_assets.lib.backfills.admission import restated_history
from finsight_assets.lib.contract.run_tags import BACKFILL, LIVE
from finsight_assets.lib.tables.registry import CODE_VERSIONS
from finsight_assets.lib.tables.silver_customers import SILVER_CUSTOMERS
from finsight_assets.lib.wap import publish
from finsight_assets.lib.wap.model import RunInfo
from finsight_assets_tests.held import customers_sql

DAY, OTHER = date(2025, 3, 3), date(2025, 3, 5)
CLOCK = datetime(2025, 3, 20, 12, 0, tzinfo=UTC)
# 08:00 New York on the day after DAY: DAY is the daily lane's own day.
DAILY_CLOCK = datetime(2025, 3, 4, 13, 0, tzinfo=UTC)


def _publish(warehouse, run: RunInfo, day: date) -> None:
    name = SILVER_CUSTOMERS.qualified_name
    publish.write_audit_publish(
        warehouse,
        SILVER_CUSTOMERS,
        run,
        CODE_VERSIONS[name],
        {day: "input"},
        customers_sql(day, "C1"),
        checks=[],
    )


def test_published_history_is_what_finished_runs_and_manifests_published(connect):
    with connect() as warehouse:
        _publish(warehouse, RunInfo("first", LIVE, CLOCK), DAY)
        _publish(warehouse, RunInfo("backfill", BACKFILL, CLOCK, manifest_id="bf-1"), OTHER)

        def history(run_id="next", clock=CLOCK, succeeded=lambda run: True):
            partitions = {"silver.customers": [DAY, OTHER]}
            return restated_history(warehouse, partitions, run_id, clock, succeeded)

        assert history() == {"silver.customers": [DAY, OTHER]}
        # The first run did not finish (failed, or was killed): its day is not history yet.
        assert history(succeeded=lambda run: run != "first") == {"silver.customers": [OTHER]}
        # The run that published it, again.
        assert history(run_id="first", succeeded=lambda run: False) == {"silver.customers": [OTHER]}
        # A manifest's versions are history however its runs ended.
        assert history(succeeded=lambda run: False) == {"silver.customers": [OTHER]}
        # The daily lane's own day is free.
        assert history(clock=DAILY_CLOCK) == {"silver.customers": [OTHER]}
