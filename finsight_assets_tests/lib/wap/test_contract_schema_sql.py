"""The contract-schema audit runs as SQL where the staged rows are, on DuckDB and the Snowflake
flavour: a row breaking each class of rule (nullability, allowed set, range, pattern, length,
type) is caught, pandera (built from the same declaration) agrees, and no staged row is fetched
(only the day's aggregates and the few failing values it names)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import UTC, date, datetime
from typing import Any

import pytest

from finsight_assets.lib.contract.run_tags import LIVE
from finsight_assets.lib.tables.declaration import Table
from finsight_assets.lib.tables.gold_segment_daily_report import GOLD_SEGMENT_DAILY_REPORT
from finsight_assets.lib.tables.silver_customers import SILVER_CUSTOMERS
from finsight_assets.lib.tables.silver_transactions import SILVER_TRANSACTIONS
from finsight_assets.lib.wap import publish
from finsight_assets.lib.wap.audits.generic import MAX_REPORTED_FAILURES, contract_schema
from finsight_assets.lib.wap.model import AuditInputs, AuditOutcome, RunInfo
from finsight_assets_tests.lib.wap.staged_rows import (
    CountingWarehouse,
    customer,
    segment,
    transaction,
)

DAY = date(2025, 3, 3)
OTHER_DAY = date(2025, 3, 4)
CLOCK = datetime(2025, 3, 5, 6, 0, tzinfo=UTC)


def audited(warehouse: Any, table: Table, *rows: str) -> tuple[AuditOutcome, CountingWarehouse]:
    run = RunInfo(run_id="run-1", mode=LIVE, clock=CLOCK)
    staged = publish.stage(
        warehouse, table, run, "1", {DAY: "in-1", OTHER_DAY: "in-2"}, " UNION ALL ".join(rows)
    )
    counting = CountingWarehouse(warehouse)
    try:
        return contract_schema(counting, staged, AuditInputs()), counting
    finally:
        publish.drop_staged(warehouse, staged)


def test_conforming_rows_pass_and_only_aggregates_are_fetched(connect):
    with connect() as warehouse:
        outcome, counting = audited(
            warehouse,
            SILVER_TRANSACTIONS,
            transaction(DAY, "e1"),
            transaction(DAY, "e2", amount_usd="0.00"),
            transaction(OTHER_DAY, "e3", "REFUND"),
        )
    assert outcome.passed
    assert outcome.summary == "0 row(s) violate the contract schema"
    assert outcome.metadata == {
        "violating_rows": {DAY.isoformat(): 0, OTHER_DAY.isoformat(): 0},
        "failures": [],
    }
    assert outcome.by_date == {DAY: True, OTHER_DAY: True}
    # The staged profile was taken when staged; the audit asks only the catalogue for types.
    staging = f"{warehouse.staging_schema}."
    assert [sql for sql, _ in counting.fetched if staging in sql] == []


@pytest.mark.parametrize(
    ("table", "rows", "failures"),
    [
        (
            SILVER_TRANSACTIONS,
            [transaction(DAY, None), transaction(DAY, "e2"), transaction(OTHER_DAY, "e3")],
            ["event_id: not_nullable failed on <NA>"],
        ),
        (
            SILVER_TRANSACTIONS,
            [transaction(DAY, "e1", "GIFT"), transaction(OTHER_DAY, "e3")],
            [
                "event_type: isin(('PURCHASE', 'REFUND', 'DEPOSIT', 'WITHDRAWAL', 'FEE')) "
                "failed on 'GIFT'"
            ],
        ),
        (
            SILVER_TRANSACTIONS,
            [transaction(DAY, "e1", amount="0.00"), transaction(OTHER_DAY, "e3")],
            ["amount: greater_than(0) failed on Decimal('0.00')"],
        ),
        (
            SILVER_TRANSACTIONS,
            [transaction(DAY, "e1", amount_usd="-1.00"), transaction(OTHER_DAY, "e3")],
            ["amount_usd: greater_than_or_equal_to(0) failed on Decimal('-1.00')"],
        ),
        (
            SILVER_CUSTOMERS,
            [customer(DAY, "c1", "not-a-hash"), customer(OTHER_DAY, "c2", "f" * 64)],
            ["email_sha256: str_matches('^[0-9a-f]{64}$') failed on 'not-a-hash'"],
        ),
        (
            SILVER_CUSTOMERS,
            # pandera matches at the start: a valid hash followed by more text still breaks `$`.
            [customer(DAY, "c1", "a" * 64 + "x"), customer(OTHER_DAY, "c2", "0" * 64)],
            [f"email_sha256: str_matches('^[0-9a-f]{{64}}$') failed on '{'a' * 64 + 'x'}'"],
        ),
        (
            GOLD_SEGMENT_DAILY_REPORT,
            [segment(DAY, "USA", 3), segment(OTHER_DAY, "US", 3)],
            ["country: str_length(2, 2) failed on 'USA'"],
        ),
    ],
    ids=["not-null", "allowed-set", "above", "at-least", "pattern", "pattern-anchored", "length"],
)
def test_a_row_breaking_each_class_of_rule_fails_its_day(connect, table, rows, failures):
    with connect() as warehouse:
        outcome, counting = audited(warehouse, table, *rows)
    assert not outcome.passed
    assert outcome.summary == "1 row(s) violate the contract schema"
    assert outcome.metadata["violating_rows"] == {DAY.isoformat(): 1, OTHER_DAY.isoformat(): 0}
    assert outcome.metadata["failures"] == failures
    assert outcome.by_date == {DAY: False, OTHER_DAY: True}
    # Only the failing values it names came from the staged rows.
    assert counting.staged_rows_fetched() == len(failures)


def test_a_row_breaking_several_rules_counts_once_and_examples_are_capped(connect):
    rows = [transaction(DAY, f"e{i}", "GIFT", amount="0.00") for i in range(MAX_REPORTED_FAILURES)]
    with connect() as warehouse:
        outcome, counting = audited(warehouse, SILVER_TRANSACTIONS, *rows)
    assert outcome.summary == f"{MAX_REPORTED_FAILURES} row(s) violate the contract schema"
    assert outcome.metadata["violating_rows"] == {
        DAY.isoformat(): MAX_REPORTED_FAILURES,
        OTHER_DAY.isoformat(): 0,
    }
    assert len(outcome.metadata["failures"]) == MAX_REPORTED_FAILURES
    assert counting.staged_rows_fetched() == MAX_REPORTED_FAILURES


def test_a_column_of_the_wrong_type_fails_every_day_with_rows(connect):
    with connect() as warehouse:
        outcome, _ = audited(
            warehouse, GOLD_SEGMENT_DAILY_REPORT, segment(DAY, "US", 2, "DECIMAL(38,2)")
        )
    assert not outcome.passed
    assert outcome.metadata["violating_rows"] == {DAY.isoformat(): 1, OTHER_DAY.isoformat(): 0}
    [failure] = outcome.metadata["failures"]
    assert failure.startswith("net_flow_usd: dtype('decimal128(18, 2)[pyarrow]') failed on ")
    assert "38" in failure


def test_pandera_built_from_the_same_declaration_agrees(connect):
    import pandas as pd
    import pandera.errors
    import pyarrow as pa

    from finsight_assets.lib.contract.tables import arrow_schema
    from finsight_assets.lib.tables.pandera_schemas import contract_schema as pandera_schema

    rows = [
        transaction(DAY, None, "GIFT"),
        transaction(DAY, "e2", amount="-3.00"),
        transaction(DAY, "e3"),
        transaction(OTHER_DAY, "e4", amount_usd="-0.01"),
    ]
    with connect() as warehouse:
        outcome, _ = audited(warehouse, SILVER_TRANSACTIONS, *rows)
        columns = ", ".join(SILVER_TRANSACTIONS.business_columns)
        batches = warehouse.fetch_arrow_batches(
            f"SELECT {columns} FROM ({' UNION ALL '.join(rows)}) AS candidate", 100
        )
        nullable = pa.schema(
            [f.with_nullable(True) for f in arrow_schema(SILVER_TRANSACTIONS.columns)]
        )
        table = pa.Table.from_batches([batch.cast(nullable) for batch in batches], nullable)
        frame = table.to_pandas(types_mapper=pd.ArrowDtype)
    with pytest.raises(pandera.errors.SchemaErrors) as errors:
        pandera_schema(SILVER_TRANSACTIONS).validate(frame, lazy=True)
    cases = errors.value.failure_cases
    # As the pandera audit counted: each failing row once, on its day.
    failing: dict[date, int] = {}
    for index in cases["index"].dropna().unique():
        d = frame.loc[int(index), "business_date"]
        failing[d] = failing.get(d, 0) + 1
    assert outcome.metadata["violating_rows"] == {
        d.isoformat(): failing.get(d, 0) for d in (DAY, OTHER_DAY)
    }
    expected = {
        f"{row.column}: {row.check} failed on "
        + ("<NA>" if pd.isna(row.failure_case) else repr(row.failure_case))
        for row in cases.itertuples()
    }
    assert set(outcome.metadata["failures"]) == expected


def test_an_audit_run_imports_neither_pandas_nor_pandera(tmp_path):
    script = textwrap.dedent(
        f"""
        import sys
        from datetime import UTC, date, datetime
        from pathlib import Path
        from finsight_assets.lib.engines.duckdb_warehouse import duckdb_connector
        from finsight_assets.lib.tables.silver_transactions import SILVER_TRANSACTIONS
        from finsight_assets.lib.wap import publish
        from finsight_assets.lib.wap.model import RunInfo
        from finsight_assets_tests.lib.wap.staged_rows import transaction

        run = RunInfo(run_id="run-1", mode="LIVE", clock=datetime(2025, 3, 5, tzinfo=UTC))
        with duckdb_connector(Path({str(tmp_path / "w.duckdb")!r}))() as warehouse:
            day = date(2025, 3, 3)
            staged = publish.stage(
                warehouse, SILVER_TRANSACTIONS, run, "1", {{day: "in"}}, transaction(day, None)
            )
            [result] = publish.audit(
                warehouse,
                staged,
                checks=[c for c in publish.checks_of("silver.transactions")
                        if c.name == "contract_schema"],
            )
            assert not result.passed, result
        loaded = sorted(m for m in ("pandas", "pandera") if m in sys.modules)
        assert not loaded, loaded
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
