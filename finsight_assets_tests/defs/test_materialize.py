"""Materializing through Dagster: ranges in process, idempotency, bad input, a buggy transform."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from finsight_assets.cli.materialize import materialize_range, prepare_instance
from finsight_assets.dev.synthetic import generate_raw
from finsight_assets.lib.settings import Settings
from finsight_assets.lib.tables.gold_daily_customer_summary import GOLD_DAILY_CUSTOMER_SUMMARY
from finsight_assets.lib.tables.registry import TABLES
from finsight_assets_tests.faults.matrix import backfills
from finsight_assets_tests.pipeline import query

START = date(2025, 3, 1)
REPO = Path(__file__).resolve().parents[2]


def business_rows(home: Path) -> dict[str, list[tuple]]:
    return {
        t.qualified_name: sorted(
            query(home, f"SELECT {', '.join(t.business_columns)} FROM {t.qualified_name}"),
            key=repr,
        )
        for t in TABLES
    }


def days(n: int) -> list[date]:
    return [START + timedelta(days=i) for i in range(n)]


def test_materializing_twice_is_idempotent(home):
    generate_raw(home / "lake", START, START + timedelta(days=2), rows_per_day=800, seed=3)
    settings = Settings.from_env()
    first = materialize_range(settings, START, START + timedelta(days=2))
    assert [o.success for o in first] == [True]
    before = business_rows(home)
    assert all(before[t.qualified_name] for t in TABLES)
    # Published history is replaced through a manifest (three days: no approval).
    manifest = backfills().plan(
        reason="again", requested_by="ann", start=START, end=START + timedelta(days=2)
    )
    second = materialize_range(
        settings, START, START + timedelta(days=2), days_per_run=2, tags=manifest.run_tags()
    )
    assert [o.success for o in second] == [True, True]
    assert business_rows(home) == before
    for table in TABLES:
        key = ", ".join(table.key or ("business_date", "event_id"))
        duplicated = (
            query(
                home,
                f"SELECT {key}, COUNT(*) FROM {table.qualified_name} WHERE event_id IS NOT NULL "
                if table.key is None
                else f"SELECT {key}, COUNT(*) FROM {table.qualified_name} "
                f"GROUP BY {key} HAVING COUNT(*) > 1",
            )
            if table.key
            else []
        )
        assert duplicated == []
    runs = {r[0] for r in query(home, "SELECT DISTINCT _run_id FROM gold.account_daily_balance")}
    assert runs == {o.run_id for o in second}
    lineage = query(home, "SELECT DISTINCT _code_version, _mode FROM silver.transactions")
    assert lineage == [("1", "BACKFILL")]
    instance = prepare_instance(settings)
    check = dg.AssetCheckKey(dg.AssetKey(["silver", "transactions"]), "count_identity")
    evaluation = instance.event_log_storage.get_latest_asset_check_execution_by_key([check])
    assert evaluation[check].status.value == "SUCCEEDED"


def test_bad_raw_files_fail_their_partition_only_and_name_the_file(home):
    lake = home / "lake"
    generate_raw(lake, START, START + timedelta(days=4), rows_per_day=500, seed=5)
    folder = lambda d: lake / "raw" / "transactions" / f"business_date={d}"  # noqa: E731
    corrupt = folder(START + timedelta(days=1)) / "zz-corrupt.parquet"
    corrupt.write_bytes(b"PAR1 this is not parquet")
    missing = folder(START + timedelta(days=2)) / "zz-missing.parquet"
    pq.write_table(pa.table({"event_id": ["x"]}), missing)
    wrong = folder(START + timedelta(days=3)) / "zz-wrong.parquet"
    table = pq.read_table(next(folder(START).glob("*.parquet")))
    table = table.set_column(
        table.schema.get_field_index("amount"), "amount", table.column("amount").cast(pa.string())
    )
    pq.write_table(table, wrong)
    digests = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in lake.rglob("*.parquet")}

    (outcome,) = materialize_range(Settings.from_env(), START, START + timedelta(days=4))

    assert not outcome.success
    message = "\n".join(outcome.errors)
    assert f"{corrupt}: unreadable Parquet file" in message
    assert f"{missing}: missing column(s) transaction_id" in message
    assert f"{wrong}: column amount has type string" in message
    published = {
        r[0] for r in query(home, "SELECT DISTINCT business_date FROM silver.transactions")
    }
    assert published == {START, START + timedelta(days=4)}
    assert {
        p: hashlib.sha256(p.read_bytes()).hexdigest() for p in lake.rglob("*.parquet")
    } == digests


def test_a_buggy_transform_is_caught_by_a_blocking_check(home, monkeypatch):
    generate_raw(home / "lake", START, START + timedelta(days=1), rows_per_day=500, seed=9)
    settings = Settings.from_env()
    assert materialize_range(settings, START, START + timedelta(days=1))[0].success
    before = business_rows(home)

    correct = GOLD_DAILY_CUSTOMER_SUMMARY.sql

    def double_counting(dates, reads=None):
        sql, params = correct(dates, reads)
        return f"{sql} UNION ALL {sql}", [*params, *params]

    # The declaration is frozen: its SQL is swapped in its __dict__ for the test.
    monkeypatch.setitem(vars(GOLD_DAILY_CUSTOMER_SUMMARY), "sql", double_counting)
    manifest = backfills().plan(
        reason="buggy", requested_by="ann", start=START, end=START + timedelta(days=1)
    )
    (outcome,) = materialize_range(
        settings, START, START + timedelta(days=1), tags=manifest.run_tags()
    )
    assert not outcome.success
    assert "unique_key" in "\n".join(outcome.errors)
    assert business_rows(home) == before
    instance = prepare_instance(settings)
    check = dg.AssetCheckKey(dg.AssetKey(["gold", "daily_customer_summary"]), "unique_key")
    evaluation = instance.event_log_storage.get_latest_asset_check_execution_by_key([check])
    assert evaluation[check].status.value == "FAILED"


def dagster_asset_materialize(home: Path, first: date, last: date) -> subprocess.CompletedProcess:
    """`dagster asset materialize --select '*' --partition-range first...last` on `home`."""
    env = {**os.environ, "DAGSTER_HOME": str(home / "dagster"), "SPARK_LOCAL_IP": "127.0.0.1"}
    (home / "dagster").mkdir(parents=True, exist_ok=True)
    command = [
        str(Path(sys.executable).parent / "dagster"),
        "asset",
        "materialize",
        "-m",
        "finsight_assets.definitions",
        "--select",
        "*",
        "--partition-range",
        f"{first}...{last}",
    ]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=600, cwd=REPO)


def test_dagster_cli_materializes_a_partition_range(home):
    generate_raw(home / "lake", START, START + timedelta(days=1), rows_per_day=300, seed=1)
    done = dagster_asset_materialize(home, START, START + timedelta(days=1))
    assert done.returncode == 0, done.stderr[-3000:]
    counts = query(home, "SELECT COUNT(DISTINCT business_date) FROM gold.account_daily_balance")
    assert counts == [(2,)]


def test_a_range_before_the_first_business_date_is_refused(home):
    with pytest.raises(ValueError, match="FINSIGHT_START_DATE"):
        materialize_range(Settings.from_env(), START - timedelta(days=1), START)


def test_a_dry_run_audits_and_publishes_nothing(home):
    from finsight_assets.lib.contract.run_tags import MODE_TAG

    generate_raw(home / "lake", START, START + timedelta(days=1), rows_per_day=300, seed=2)
    settings = Settings.from_env()
    assert materialize_range(settings, START, START)[0].success
    before = business_rows(home)
    versions = query(home, "SELECT COUNT(*) FROM audit.partition_versions")
    (outcome,) = materialize_range(
        settings, START, START + timedelta(days=1), tags={MODE_TAG: "DRY_RUN"}
    )
    assert outcome.success
    assert business_rows(home) == before
    assert query(home, "SELECT COUNT(*) FROM audit.partition_versions") == versions
    audited = query(
        home, f"SELECT COUNT(*) FROM audit.check_results WHERE run_id = '{outcome.run_id}'"
    )
    assert audited[0][0] > 0
    assert not list((home / "lake" / "exports").glob(f"*{START + timedelta(days=1)}*"))
