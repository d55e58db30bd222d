"""A batched run publishes the days whose blocking audits pass and holds back the others, and
the Dagster UI shows each audit's verdict per day: in a real browser, the Checks tab's partition
view counts the days that passed and the days that failed."""

from __future__ import annotations

import re
from datetime import date, timedelta

from playwright.sync_api import Page

from finsight_assets.cli.materialize import materialize_range
from finsight_assets.dev.synthetic import generate_raw
from finsight_assets.lib.settings import Settings
from finsight_assets.lib.tables.gold_daily_customer_summary import GOLD_DAILY_CUSTOMER_SUMMARY
from finsight_assets_tests.browser import browser_page, check_partition_statuses, webserver
from finsight_assets_tests.pipeline import query

START = date(2025, 3, 1)


def day(n: int) -> date:
    return START + timedelta(days=n)


def test_each_day_of_a_range_run_publishes_and_shows_its_own_verdict(home, monkeypatch):
    generate_raw(home / "lake", START, day(4), rows_per_day=300, seed=12)
    settings = Settings.from_env()
    # Three days in one range run, all audits passing.
    assert [o.success for o in materialize_range(settings, START, day(2))] == [True]
    # Two more days in one run, with a gold transform that counts the last day's rows twice:
    # unique_key fails on that day alone, which is held back; the other day publishes.
    correct = GOLD_DAILY_CUSTOMER_SUMMARY.sql

    def double_counting_the_last_day(dates, reads=None):
        sql, params = correct(dates, reads)
        again = f"SELECT * FROM ({sql}) AS again WHERE business_date = CAST(? AS DATE)"
        return f"{sql} UNION ALL {again}", [*params, *params, day(4).isoformat()]

    # The declaration is frozen: its SQL is swapped in its __dict__ for the test.
    monkeypatch.setitem(vars(GOLD_DAILY_CUSTOMER_SUMMARY), "sql", double_counting_the_last_day)
    (outcome,) = materialize_range(settings, day(3), day(4))
    assert not outcome.success
    errors = " ".join(outcome.errors)
    assert f"{day(4)}: blocking audit failed: gold.daily_customer_summary" in errors
    assert "unique_key (" in errors
    assert f"{day(3)}:" not in errors
    published = query(
        home,
        "SELECT c.business_date, v.run_id FROM audit.current_versions c JOIN "
        "audit.partition_versions v USING (version_id) "
        "WHERE c.table_name = 'gold.daily_customer_summary' ORDER BY 1",
    )
    assert [d for d, _ in published] == [day(n) for n in range(4)]

    rows = dict(
        query(
            home,
            "SELECT c.business_date, v.row_count FROM audit.current_versions c JOIN "
            "audit.partition_versions v USING (version_id) "
            "WHERE c.table_name = 'silver.transactions' ORDER BY 1",
        )
    )

    with webserver(home, START.isoformat()) as url, browser_page() as page:
        silver = check_partition_statuses(page, url, "silver/transactions", "count_identity")
        gold = check_partition_statuses(page, url, "gold/daily_customer_summary", "unique_key")
        # Each day of the first range run shows its own row count in its partition's panel.
        shown = {d: partition_panel(page, url, "silver/transactions", d) for d in (START, day(1))}
    assert (silver["Passed"], silver["Failed"], silver["Skipped"]) == (5, 0, 0)
    assert (gold["Passed"], gold["Failed"], gold["Skipped"]) == (4, 1, 0)
    assert rows[START] != rows[day(1)]
    for d, text in shown.items():
        assert (
            ROW_COUNT.search(text)
            and int(ROW_COUNT.search(text).group(1).replace(",", "")) == (rows[d])
        ), text[:3000]


# The partition panel's metadata row of Dagster's row count, as the UI shows it.
ROW_COUNT = re.compile(r"dagster/row_count\s+([\d,]+)")


def partition_panel(page: Page, url: str, asset: str, d: date) -> str:
    """The text of the asset's Partitions tab with day `d` selected."""
    page.goto(f"{url}/assets/{asset}?view=partitions&partition={d.isoformat()}")
    page.get_by_text("dagster/row_count").first.wait_for(timeout=60_000)
    page.wait_for_timeout(1000)
    return page.inner_text("body")
