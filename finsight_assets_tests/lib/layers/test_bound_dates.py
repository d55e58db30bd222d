"""The layers' dates reach SQL as bound parameters, on DuckDB and on the Snowflake flavour: gold's
candidate SQL, the reconciling audits, the diff, the Arrow fetches and the partner export send
no date text, and still compute what they did."""

from __future__ import annotations

import csv
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from finsight_assets.lib.engines.duckdb_warehouse import duckdb_connector
from finsight_assets.lib.engines.lake import LocalLake
from finsight_assets.lib.layers import gold
from finsight_assets.lib.layers.exports import write_partner_export
from finsight_assets.lib.tables.gold_account_daily_balance import GOLD_ACCOUNT_DAILY_BALANCE
from finsight_assets.lib.tables.gold_daily_customer_summary import GOLD_DAILY_CUSTOMER_SUMMARY
from finsight_assets.lib.tables.gold_segment_daily_report import GOLD_SEGMENT_DAILY_REPORT
from finsight_assets.lib.tables.registry import TABLES_BY_NAME
from finsight_assets.lib.tables.silver_customers import SILVER_CUSTOMERS
from finsight_assets.lib.tables.silver_transactions import SILVER_TRANSACTIONS
from finsight_assets.lib.wap import held_publish, publish
from finsight_assets.lib.wap.model import RunInfo
from finsight_assets_tests.lib.wap.test_publish import candidates

DAY1, DAY2 = date(2025, 3, 3), date(2025, 3, 4)
CLOCK = datetime(2025, 3, 5, 6, 0, tzinfo=UTC)
DATE_TEXT = re.compile(r"DATE\s*'|\d{4}-\d{2}-\d{2}")


class Recording:
    """A warehouse that keeps every statement it is sent, with its parameters."""

    def __init__(self, inner):
        self.inner = inner
        self.sent: list[tuple[str, list[Any]]] = []

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def execute(self, sql, params=()):
        self.sent.append((sql, list(params)))
        return self.inner.execute(sql, params)

    def fetchall(self, sql, params=()):
        self.sent.append((sql, list(params)))
        return self.inner.fetchall(sql, params)

    def count_changed(self, sql, params=()):
        self.sent.append((sql, list(params)))
        return self.inner.count_changed(sql, params)

    def fetch_arrow_batches(self, sql, batch_rows, params=()):
        self.sent.append((sql, list(params)))
        return self.inner.fetch_arrow_batches(sql, batch_rows, params)

    def export_csv(self, sql, path, params=()):
        self.sent.append((sql, list(params)))
        return self.inner.export_csv(sql, path, params)


def _transaction(day: date, event: str, account: str, customer: str, kind: str, usd: str) -> str:
    signed = usd if kind in ("DEPOSIT", "REFUND") else f"-{usd}"
    return (
        f"SELECT DATE '{day}' AS business_date, '{event}' AS event_id, '{event}' AS transaction_id, "
        f"'{account}' AS account_id, '{customer}' AS customer_id, '{kind}' AS event_type, "
        "CAST(NULL AS VARCHAR) AS merchant_category, 'USD' AS currency, "
        f"CAST('{usd}' AS DECIMAL(18,2)) AS amount, CAST('1' AS DECIMAL(18,8)) AS usd_rate, "
        f"CAST('{usd}' AS DECIMAL(18,2)) AS amount_usd, "
        f"CAST('{signed}' AS DECIMAL(18,2)) AS signed_amount_usd, "
        "CAST('2025-03-03 15:00:00+00' AS TIMESTAMP WITH TIME ZONE) AS event_ts, "
        "CAST('2025-03-03 16:00:00+00' AS TIMESTAMP WITH TIME ZONE) AS ingested_at"
    )


def _publish_silver(warehouse) -> None:
    run = RunInfo("silver", "LIVE", CLOCK)
    rows = [
        _transaction(DAY1, "E1", "A1", "C1", "DEPOSIT", "100.00"),
        _transaction(DAY1, "E2", "A1", "C1", "PURCHASE", "30.00"),
        _transaction(DAY1, "E3", "A2", "C2", "DEPOSIT", "50.00"),
        _transaction(DAY2, "E4", "A1", "C1", "FEE", "1.00"),
    ]
    for table, candidate in (
        (SILVER_TRANSACTIONS, " UNION ALL ".join(rows)),
        (
            SILVER_CUSTOMERS,
            f"{candidates(DAY1, ('C1', 'RETAIL'), ('C2', 'SMB'))} UNION ALL "
            f"{candidates(DAY2, ('C1', 'RETAIL'), ('C2', 'SMB'))}",
        ),
    ):
        publish.write_audit_publish(
            warehouse, table, run, "1", {DAY1: "in", DAY2: "in"}, candidate, checks=[]
        )


def _passed(result) -> bool:
    return all(r.passed for results in result.audits.values() for r in results)


def test_gold_audits_and_export_take_their_dates_as_parameters(connect, tmp_path):
    with connect() as warehouse:
        _publish_silver(warehouse)
        recording = Recording(warehouse)
        run = RunInfo("gold", "LIVE", CLOCK)
        days = [DAY1, DAY2]
        assert _passed(gold.build_gold(recording, run, GOLD_DAILY_CUSTOMER_SUMMARY, days, "1"))
        assert _passed(gold.build_gold(recording, run, GOLD_SEGMENT_DAILY_REPORT, days, "1"))
        assert _passed(gold.build_gold(recording, run, GOLD_ACCOUNT_DAILY_BALANCE, days, "1", DAY1))
        # Again from the second day: it opens from the first day's published balances.
        again = RunInfo("gold-again", "LIVE", CLOCK)
        assert _passed(
            gold.build_gold(recording, again, GOLD_ACCOUNT_DAILY_BALANCE, [DAY2], "1", DAY1)
        )
        export = write_partner_export(recording, LocalLake(tmp_path / "lake"), DAY1)

        assert [sql for sql, _ in recording.sent if DATE_TEXT.search(sql)] == []
        # Silver's rows: its view, or its versions table (gold reads the versions it records).
        reads_silver = [
            params
            for sql, params in recording.sent
            if "silver.transactions" in sql or "versions.silver__transactions" in sql
        ]
        assert reads_silver and all(DAY2.isoformat() in params for params in reads_silver)
        assert [params for sql, params in recording.sent if sql.startswith("WITH chain")] == [
            ["2025-03-02", "2025-03-03", "2025-03-02", "2025-03-04"],
            ["2025-03-03", "2025-03-04", "2025-03-03", "2025-03-04"],
        ]
        assert recording.sent[-1][1] == [DAY1.isoformat()]

        balances = warehouse.fetchall(
            "SELECT business_date, account_id, net_flow_usd, closing_balance_usd "
            f"FROM {GOLD_ACCOUNT_DAILY_BALANCE.qualified_name} ORDER BY 1, 2"
        )
        assert balances == [
            (DAY1, "A1", Decimal("70.00"), Decimal("70.00")),
            (DAY1, "A2", Decimal("50.00"), Decimal("50.00")),
            (DAY2, "A1", Decimal("-1.00"), Decimal("69.00")),
            (DAY2, "A2", Decimal("0.00"), Decimal("50.00")),
        ]
    local = tmp_path / "lake" / "exports" / export.rsplit("/", 1)[-1]
    with local.open(newline="") as handle:
        assert list(csv.reader(handle)) == [
            list(GOLD_DAILY_CUSTOMER_SUMMARY.business_columns),
            ["2025-03-03", "C1", "2", "30.00", "0.00", "100.00", "0.00", "0.00", "70.00"],
            ["2025-03-03", "C2", "1", "0.00", "0.00", "50.00", "0.00", "0.00", "50.00"],
        ]


def test_arrow_batches_take_parameters_and_still_stream(connect):
    with connect() as warehouse:
        _publish_silver(warehouse)
        batches = list(
            warehouse.fetch_arrow_batches(
                "SELECT event_id FROM silver.transactions "
                "WHERE business_date = CAST(? AS DATE) ORDER BY event_id",
                2,
                [DAY1.isoformat()],
            )
        )
    assert [batch.num_rows for batch in batches] == [2, 1]
    assert [row["event_id"] for batch in batches for row in batch.to_pylist()] == [
        "E1",
        "E2",
        "E3",
    ]


def test_the_duckdb_export_is_byte_identical_to_a_date_literal_copy(tmp_path):
    connect = duckdb_connector(tmp_path / "warehouse.duckdb")
    with connect() as warehouse:
        _publish_silver(warehouse)
        run = RunInfo("gold", "LIVE", CLOCK)
        gold.build_gold(warehouse, run, GOLD_DAILY_CUSTOMER_SUMMARY, [DAY1, DAY2], "1")
        export = write_partner_export(warehouse, LocalLake(tmp_path / "lake"), DAY1)
        literal = tmp_path / "literal.csv"
        columns = ", ".join(GOLD_DAILY_CUSTOMER_SUMMARY.business_columns)
        warehouse.connection.execute(
            f"COPY (SELECT {columns} FROM {GOLD_DAILY_CUSTOMER_SUMMARY.qualified_name} "
            f"WHERE business_date = DATE '{DAY1}' ORDER BY customer_id) TO '{literal}' "
            "(FORMAT CSV, HEADER)"
        )
    bound = tmp_path / "lake" / "exports" / export.rsplit("/", 1)[-1]
    assert bound.read_bytes() == literal.read_bytes()


def test_a_held_backfill_reads_its_own_held_silver_and_publishes_it_on_both_engines(connect):
    """Gold of a holding run reads the held silver over the published (a CTE of bound
    parameters), holds what it computes, and the held versions publish as computed."""
    with connect() as warehouse:
        _publish_silver(warehouse)
        live = RunInfo("gold", "LIVE", CLOCK)
        gold.build_gold(warehouse, live, GOLD_DAILY_CUSTOMER_SUMMARY, [DAY1, DAY2], "1")
        gold.build_gold(warehouse, live, GOLD_ACCOUNT_DAILY_BALANCE, [DAY1, DAY2], "1", DAY1)
        held_run = RunInfo("held", "BACKFILL", CLOCK, manifest_id="bf-held", hold=True)
        # A corrected delivery for DAY1: C1's deposit is 200.00, held for approval.
        corrected = " UNION ALL ".join(
            [
                _transaction(DAY1, "E1", "A1", "C1", "DEPOSIT", "200.00"),
                _transaction(DAY1, "E2", "A1", "C1", "PURCHASE", "30.00"),
                _transaction(DAY1, "E3", "A2", "C2", "DEPOSIT", "50.00"),
            ]
        )
        publish.write_audit_publish(
            warehouse, SILVER_TRANSACTIONS, held_run, "1", {DAY1: "in2"}, corrected, checks=[]
        )
        recording = Recording(warehouse)
        summary = gold.build_gold(recording, held_run, GOLD_DAILY_CUSTOMER_SUMMARY, [DAY1], "1")
        balance = gold.build_gold(
            recording, held_run, GOLD_ACCOUNT_DAILY_BALANCE, [DAY1], "1", DAY1
        )
        assert _passed(summary) and _passed(balance)
        assert [sql for sql, _ in recording.sent if DATE_TEXT.search(sql)] == []
        published = "SELECT closing_balance_usd FROM gold.account_daily_balance "
        published += "WHERE account_id = 'A1' ORDER BY business_date"
        assert warehouse.fetchall(published) == [(Decimal("70.00"),), (Decimal("69.00"),)]
        outcome = held_publish.publish_held(
            warehouse,
            "bf-held",
            RunInfo("approved", "BACKFILL", CLOCK, manifest_id="bf-held"),
            {name: "1" for name in TABLES_BY_NAME},
            lambda table, d: None,
        )
        assert outcome.refused == {}
        assert {(v.table_name, v.business_date) for v in outcome.published} == {
            ("silver.transactions", DAY1),
            ("gold.daily_customer_summary", DAY1),
            ("gold.account_daily_balance", DAY1),
            ("gold.account_daily_balance", DAY2),
        }
        # The chain rolled forward from the held silver: both days moved by the 100.00.
        assert warehouse.fetchall(published) == [(Decimal("170.00"),), (Decimal("169.00"),)]
        net = warehouse.fetchall(
            "SELECT net_flow_usd FROM gold.daily_customer_summary "
            "WHERE business_date = ? AND customer_id = 'C1'",
            [DAY1],
        )
        assert net == [(Decimal("170.00"),)]
