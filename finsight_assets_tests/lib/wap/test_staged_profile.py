"""One aggregate pass over the staged rows, reused: count identity's staged side, the diff's
totals, the versions publish records; and the diff skips its join where the staged partition's
checksum is the published version's. On DuckDB and the Snowflake flavour."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from finsight_assets.lib.contract.run_tags import LIVE
from finsight_assets.lib.tables.silver_transactions import SILVER_TRANSACTIONS
from finsight_assets.lib.tables.silver_transactions_rejected import SILVER_TRANSACTIONS_REJECTED
from finsight_assets.lib.wap import publish
from finsight_assets.lib.wap.audits.diff import diff_against_published
from finsight_assets.lib.wap.audits.reconcile import count_identity, outcome_counts
from finsight_assets.lib.wap.model import AuditInputs, RunInfo
from finsight_assets.lib.wap.profile import checksum, row_hash
from finsight_assets.lib.wap.versions import current_versions, get_versions
from finsight_assets_tests.lib.wap.staged_rows import CountingWarehouse, transaction

DAY = date(2025, 3, 3)
OTHER_DAY = date(2025, 3, 4)
CLOCK = datetime(2025, 3, 5, 6, 0, tzinfo=UTC)
DAYS = {DAY: "in-1", OTHER_DAY: "in-2"}


def run(run_id: str) -> RunInfo:
    return RunInfo(run_id=run_id, mode=LIVE, clock=CLOCK)


def stage(warehouse, run_id: str, *rows: str, table=SILVER_TRANSACTIONS):
    return publish.stage(warehouse, table, run(run_id), "1", DAYS, " UNION ALL ".join(rows))


def publish_rows(warehouse, run_id: str, *rows: str) -> None:
    staged = stage(warehouse, run_id, *rows)
    try:
        publish.publish(warehouse, staged)
    finally:
        publish.drop_staged(warehouse, staged)


FIRST = (
    transaction(DAY, "e1", amount_usd="10.00"),
    transaction(DAY, "e2", amount_usd="5.50"),
    transaction(OTHER_DAY, "e3", amount_usd="1.25"),
)


def published_reads(counting: CountingWarehouse) -> list[str]:
    """The statements reading published rows: through the view, or the versions table."""
    return [
        sql
        for sql, _ in counting.fetched
        if "FROM silver.transactions " in sql or "versions.silver__transactions" in sql
    ]


def test_an_unchanged_partition_is_not_joined_nor_its_published_rows_read(connect):
    with connect() as warehouse:
        publish_rows(warehouse, "run-1", *FIRST)
        staged = stage(warehouse, "run-2", *FIRST)
        counting = CountingWarehouse(warehouse)
        outcome = diff_against_published(counting, staged, AuditInputs())
        publish.drop_staged(warehouse, staged)
    assert outcome.summary == "0 added, 0 removed, 0 changed"
    assert published_reads(counting) == []
    day = outcome.metadata["by_date"][DAY.isoformat()]
    assert (
        day["total_before"]
        == day["total_after"]
        == {
            "amount_usd": "15.50",
            "signed_amount_usd": "15.50",
        }
    )
    assert day["total_change"] == {"amount_usd": "0.00", "signed_amount_usd": "0.00"}


def test_a_changed_partition_is_diffed_the_unchanged_one_is_not(connect):
    with connect() as warehouse:
        publish_rows(warehouse, "run-1", *FIRST)
        staged = stage(
            warehouse,
            "run-2",
            transaction(DAY, "e1", amount_usd="12.00"),
            transaction(DAY, "e4", amount_usd="1.00"),
            FIRST[2],
        )
        counting = CountingWarehouse(warehouse)
        outcome = diff_against_published(counting, staged, AuditInputs())
        publish.drop_staged(warehouse, staged)
    assert outcome.summary == "1 added, 1 removed, 1 changed"
    by_date = outcome.metadata["by_date"]
    assert by_date[DAY.isoformat()]["total_before"]["amount_usd"] == "15.50"
    assert by_date[DAY.isoformat()]["total_after"]["amount_usd"] == "13.00"
    assert by_date[DAY.isoformat()]["total_change"]["amount_usd"] == "-2.50"
    assert by_date[OTHER_DAY.isoformat()]["added"] == 0
    assert by_date[OTHER_DAY.isoformat()]["total_change"]["amount_usd"] == "0.00"
    # The join and the published totals read only the day that changed.
    reads = published_reads(counting)
    assert len([sql for sql in reads if "FULL OUTER JOIN" in sql]) == 1
    for sql in reads:
        assert "business_date IN (CAST(? AS DATE))" in sql


def test_a_partition_never_published_is_all_added_without_a_join(connect):
    with connect() as warehouse:
        staged = stage(warehouse, "run-1", *FIRST)
        counting = CountingWarehouse(warehouse)
        outcome = diff_against_published(counting, staged, AuditInputs())
        publish.drop_staged(warehouse, staged)
    assert outcome.summary == "3 added, 0 removed, 0 changed"
    assert not [sql for sql, _ in counting.fetched if "JOIN" in sql or "UNION" in sql]
    assert outcome.metadata["by_date"][DAY.isoformat()]["total_before"] == {
        "amount_usd": "0",
        "signed_amount_usd": "0",
    }


def test_the_diff_of_a_table_without_a_key_skips_an_unchanged_partition(connect):
    rejected = (
        "SELECT CAST('2025-03-03' AS DATE) AS business_date, CAST(NULL AS VARCHAR) AS event_id, "
        "'t' AS transaction_id, 'a' AS account_id, 'c' AS customer_id, 'GIFT' AS event_type, "
        "CAST(3.00 AS DECIMAL(18,2)) AS amount, 'USD' AS currency, "
        "CAST(NULL AS VARCHAR) AS merchant_category, "
        "CAST(NULL AS TIMESTAMP WITH TIME ZONE) AS event_ts, "
        "CAST(NULL AS TIMESTAMP WITH TIME ZONE) AS ingested_at, "
        "'UNKNOWN_EVENT_TYPE' AS reason_code"
    )
    with connect() as warehouse:
        staged = stage(warehouse, "run-1", rejected, table=SILVER_TRANSACTIONS_REJECTED)
        publish.publish(warehouse, staged)
        publish.drop_staged(warehouse, staged)
        again = stage(warehouse, "run-2", rejected, rejected, table=SILVER_TRANSACTIONS_REJECTED)
        joined = CountingWarehouse(warehouse)
        changed = diff_against_published(joined, again, AuditInputs())
        publish.drop_staged(warehouse, again)
        same = stage(warehouse, "run-3", rejected, table=SILVER_TRANSACTIONS_REJECTED)
        counting = CountingWarehouse(warehouse)
        unchanged = diff_against_published(counting, same, AuditInputs())
        publish.drop_staged(warehouse, same)
    assert changed.summary == "1 added, 0 removed, 0 changed"
    assert [sql for sql, _ in joined.fetched if "UNION ALL" in sql]
    assert unchanged.summary == "0 added, 0 removed, 0 changed"
    assert not [sql for sql, _ in counting.fetched if "FROM silver.transactions_rejected" in sql]


def values_stats(warehouse, table, relation: str) -> dict[date, tuple[int, str]]:
    """Per business date of `relation`: its row count and the checksum of its values, hashed
    here (an oracle independent of the profile's stored hashes)."""
    rows = warehouse.fetchall(
        f"SELECT business_date, COUNT(*), SUM({row_hash(warehouse, table)}) FROM {relation} "
        "GROUP BY business_date"
    )
    return {day: (int(count), checksum(count, total)) for day, count, total in rows}


def test_publish_records_the_profiled_count_and_checksum_without_another_pass(connect):
    with connect() as warehouse:
        staged = stage(warehouse, "run-1", *FIRST)
        expected = values_stats(warehouse, SILVER_TRANSACTIONS, staged.staging_table)
        counting = CountingWarehouse(warehouse)
        publish.publish(counting, staged)
        publish.drop_staged(warehouse, staged)
        current = current_versions(warehouse, SILVER_TRANSACTIONS.qualified_name)
        versions = {v.business_date: v for v in get_versions(warehouse, list(current.values()))}
    assert {d: (v.row_count, v.checksum) for d, v in versions.items()} == expected
    # No count or checksum is taken from the staged rows again; where the warehouse has a
    # check hash, one sum of it over them is compared with the profile's before the INSERT.
    reads = [sql for sql, _ in counting.fetched if staged.staging_table in sql]
    if warehouse.check_hash_sql(SILVER_TRANSACTIONS.columns) is None:
        assert reads == []
    else:
        assert len(reads) == 1 and "SUM(checked)" in reads[0] and "COUNT" not in reads[0]


def test_count_identity_shares_the_outcome_counts_and_reads_the_staged_count_once(connect):
    outcomes = (
        "SELECT CAST('2025-03-03' AS DATE) AS business_date, 'VALID' AS outcome "
        "UNION ALL SELECT CAST('2025-03-03' AS DATE), 'VALID' "
        "UNION ALL SELECT CAST('2025-03-03' AS DATE), 'DUPLICATE' "
        "UNION ALL SELECT CAST('2025-03-04' AS DATE), 'VALID'"
    )
    labels = ("VALID", "REJECTED", "DUPLICATE")
    with connect() as warehouse:
        staged = stage(warehouse, "run-1", *FIRST)
        relation = f"({outcomes})"
        counted = outcome_counts(warehouse, relation)
        assert counted == {DAY: {"VALID": 2, "DUPLICATE": 1}, OTHER_DAY: {"VALID": 1}}
        shared = AuditInputs({DAY: 3, OTHER_DAY: 1}, relation, "VALID", labels, counted)
        counting = CountingWarehouse(warehouse)
        passed = count_identity(counting, staged, shared)
        own = count_identity(
            warehouse, staged, AuditInputs({DAY: 3, OTHER_DAY: 2}, relation, "VALID", labels)
        )
        publish.drop_staged(warehouse, staged)
    assert passed.passed and counting.fetched == []
    assert passed.metadata["by_date"][DAY.isoformat()] == {
        "raw": 3,
        "valid": 2,
        "rejected": 0,
        "duplicate": 1,
        "staged": 2,
    }
    assert not own.passed
    assert own.summary == "identity broken on 2025-03-04"


def test_a_withdrawn_day_leaves_the_profile(connect):
    with connect() as warehouse:
        staged = stage(warehouse, "run-1", *FIRST)
        publish.withdraw(warehouse, staged, DAY)
        versions = publish.publish(warehouse, staged)
        publish.drop_staged(warehouse, staged)
    assert [(v.business_date, v.row_count) for v in versions] == [(OTHER_DAY, 1)]
    assert staged.profile is not None and DAY not in staged.profile
    assert staged.profile[OTHER_DAY].totals["amount_usd"] == Decimal("1.25")
