"""The held publish on both engines publishes the held versions as they were held, or nothing:
a hold landing between the held-list read and a unit's lock (Snowflake's window: its sessions
do not hold the warehouse the way a DuckDB process holds its file), or held rows edited after
they were held, are refused by name and leave the published partition as it was."""

from __future__ import annotations

import pytest

from finsight_assets.lib.contract.run_tags import BACKFILL
from finsight_assets.lib.engines.lake import LocalLake
from finsight_assets.lib.tables.registry import CODE_VERSIONS
from finsight_assets.lib.wap.held_publish import HeldEvidenceChanged, publish_held
from finsight_assets.lib.wap.held_versions import held_versions
from finsight_assets.lib.wap.model import PublishError, RunInfo
from finsight_assets.lib.wap.versions import current_versions
from finsight_assets_tests.held import (
    HELD_AT,
    HELD_IDS,
    hold_customers,
    hold_two_units,
    publish_live,
)
from finsight_assets_tests.lib.layers.test_bound_dates import DAY1

MANIFEST = "bf-race"
SUMMARY = "gold.daily_customer_summary"


class HoldFirst:
    """A warehouse connection before whose first transaction another session holds
    silver.customers anew for the manifest (a retry's run, on its own connection)."""

    def __init__(self, inner, hold_again):
        self.inner = inner
        self.hold_again = hold_again

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def transaction(self):
        if self.hold_again is not None:
            hold_again, self.hold_again = self.hold_again, None
            hold_again()
        return self.inner.transaction()


def _publish(warehouse):
    run = RunInfo(f"approved-{MANIFEST}", BACKFILL, HELD_AT, MANIFEST)
    return publish_held(warehouse, MANIFEST, run, CODE_VERSIONS, lambda table, d: None)


def _published(connect, table):
    with connect() as warehouse:
        rows = warehouse.fetchall(f"SELECT * FROM {table} ORDER BY 1, 2")
        return current_versions(warehouse, table), rows


def test_a_hold_between_the_held_list_read_and_the_units_lock_is_not_published_empty(
    connect, tmp_path
):
    lake = LocalLake(tmp_path / "lake")
    hold_customers(connect, lake, "bf-daily", DAY1, "C1")
    with connect() as warehouse:
        # What is published now: the first hold, published as-is (a held publish of its own).
        run = RunInfo("approved-bf-daily", BACKFILL, HELD_AT, "bf-daily")
        publish_held(warehouse, "bf-daily", run, CODE_VERSIONS, lambda table, d: None)
    before = _published(connect, "silver.customers")
    hold_customers(connect, lake, MANIFEST, DAY1, "C1", "C2")

    def retry_holds() -> None:
        hold_customers(connect, lake, MANIFEST, DAY1, "C3")

    with connect() as warehouse, pytest.raises(HeldEvidenceChanged) as refused:
        _publish(HoldFirst(warehouse, retry_holds))
    assert f"silver.customers {DAY1}" in str(refused.value)
    assert _published(connect, "silver.customers") == before
    with connect() as warehouse:
        (still,) = held_versions(warehouse, MANIFEST)
        assert still.version.row_count == 1
        # Published again, the newer hold goes live as held (its own row, not none).
        _publish(warehouse)
        assert warehouse.fetchall("SELECT customer_id FROM silver.customers") == [("C3",)]


def test_held_rows_edited_after_they_were_held_are_refused_by_name_and_nothing_changes(
    connect, tmp_path
):
    publish_live(connect)
    hold_two_units(connect, LocalLake(tmp_path / "lake"), MANIFEST)
    before = {t: _published(connect, t) for t in ("silver.transactions", SUMMARY)}
    with connect() as warehouse:
        warehouse.execute(
            "UPDATE versions.gold__daily_customer_summary SET net_flow_usd = net_flow_usd + 1000 "
            f"WHERE customer_id = 'C1' AND _version_id IN ({HELD_IDS})",
            [MANIFEST],
        )
        with pytest.raises(PublishError) as refused:
            _publish(warehouse)
    message = str(refused.value)
    assert f"{SUMMARY} {DAY1}" in message and "nothing was published" in message
    assert {t: _published(connect, t) for t in before} == before
