"""Bad raw input, one test per class (docs/contract.md, "Bad raw input"), each on top of published
data: a bad file fails its own day only, with an error naming the file and the problem; the
day's published version stays; the other day publishes; raw files are never changed."""

from __future__ import annotations

import hashlib
import logging
import re
import shutil
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import dagster as dg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from finsight_assets.defs.build import build_definitions
from finsight_assets.dev.synthetic import generate_raw
from finsight_assets.dev.synthetic.dates import is_transaction_free_day
from finsight_assets.lib.settings import Settings
from finsight_assets.lib.wap.model import AuditFailed
from finsight_assets_tests import badinput
from finsight_assets_tests.pipeline import query, run_pipeline

START = date(2025, 3, 3)
BAD, GOOD = START, START + timedelta(days=1)
DAYS = [BAD, GOOD]


@pytest.fixture(scope="module")
def published(engine, tmp_path_factory) -> Path:
    """Two days generated and published once for the module."""
    assert not any(is_transaction_free_day(d) for d in DAYS)
    home = tmp_path_factory.mktemp("published")
    generate_raw(home / "lake", BAD, GOOD, rows_per_day=300, seed=21)
    results = run_pipeline(engine, home, DAYS, run_id="first")
    assert not any(r.failed for r in results.values())
    return home


@pytest.fixture
def home(published, tmp_path) -> Path:
    copy = tmp_path / "home"
    shutil.copytree(published, copy)
    return copy


def digests(lake: Path) -> dict[Path, str]:
    return {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in lake.rglob("*") if p.is_file()}


def versions(home: Path, table: str) -> dict[date, tuple[str, int]]:
    return {
        d: (run, n)
        for d, run, n in query(
            home, f"SELECT business_date, MAX(_run_id), COUNT(*) FROM {table} GROUP BY 1"
        )
    }


def rerun(engine, home: Path) -> dict:
    """Run both days again, checking that raw files are untouched."""
    before = digests(home / "lake")
    results = run_pipeline(engine, home, DAYS, run_id="again")
    assert digests(home / "lake") == before
    return results


def assert_only_the_bad_day_fails(engine, home: Path, table: str, *expected: str) -> str:
    """The bad day fails naming `expected`, keeps its published version; the good day
    publishes anew. Returns the bad day's error."""
    silver = f"silver.{table}"
    before = versions(home, silver)
    results = rerun(engine, home)
    failed = results[silver].failed
    assert set(failed) == {BAD}, failed
    for text in expected:
        assert text in failed[BAD], failed[BAD]
    after = versions(home, silver)
    assert after[BAD] == before[BAD]
    assert after[GOOD][0] == "again"
    return failed[BAD]


# A file that cannot be read or breaks the contract's schema: the footer check names it.


def test_a_zero_byte_file(engine, home):
    bad = badinput.folder(home / "lake", "transactions", BAD) / "zero.parquet"
    bad.write_bytes(b"")
    assert_only_the_bad_day_fails(engine, home, "transactions", str(bad), "unreadable Parquet")


def test_a_renamed_column(engine, home):
    table = badinput.read(home / "lake", "transactions", BAD)
    bad = badinput.folder(home / "lake", "transactions", BAD) / "renamed.parquet"
    pq.write_table(
        table.rename_columns(["id" if n == "event_id" else n for n in table.column_names]), bad
    )
    assert_only_the_bad_day_fails(
        engine, home, "transactions", str(bad), "missing column(s) event_id"
    )


@pytest.mark.parametrize(
    ("column", "arrow_type", "shown"),
    [
        ("amount", pa.float64(), "column amount has type double"),
        ("amount", pa.string(), "column amount has type string"),
        ("event_ts", pa.string(), "column event_ts has type string"),
        (
            "event_ts",
            pa.timestamp("us", tz="Europe/Paris"),
            "column event_ts has type timestamp[us, tz=Europe/Paris], "
            "the contract says timestamp[us, tz=UTC]",
        ),
    ],
)
def test_a_column_of_another_type(engine, home, column, arrow_type, shown):
    table = badinput.read(home / "lake", "transactions", BAD)
    bad = badinput.folder(home / "lake", "transactions", BAD) / "typed.parquet"
    pq.write_table(badinput.with_column(table, column, table.column(column).cast(arrow_type)), bad)
    assert_only_the_bad_day_fails(engine, home, "transactions", str(bad), shown)


def test_corrupt_pages_behind_a_valid_footer_fail_only_their_day(engine, home):
    table = badinput.read(home / "lake", "transactions", BAD)
    bad = badinput.folder(home / "lake", "transactions", BAD) / "corrupt.parquet"
    badinput.corrupt_pages(bad, table)
    pq.read_metadata(bad)
    error = assert_only_the_bad_day_fails(
        engine, home, "transactions", "could not compute the day", str(bad)
    )
    assert "does not decode" in error


@pytest.mark.parametrize("table", ["transactions", "customers"])
def test_text_that_is_not_utf8_names_the_raw_file(engine, home, table):
    column = "merchant_category" if table == "transactions" else "full_name"
    source = badinput.read(home / "lake", table, BAD)
    bad = badinput.folder(home / "lake", table, BAD) / "latin1.parquet"
    pq.write_table(badinput.not_utf8(source, column), bad)
    assert_only_the_bad_day_fails(
        engine, home, table, str(bad), f"text that is not UTF-8 in column {column}"
    )


# The day's FX file: it fails the day, named.


def fx_with(home: Path, rates: dict[str, object]) -> Path:
    """The bad day's FX file rewritten beside the original with `rates` listed (the original is
    moved aside: raw is never changed in place, a corrected delivery replaces it)."""
    original = badinput.first_file(home / "lake", "fx_rates", BAD)
    table = pq.read_table(original)
    listed: dict[str, object] = dict(badinput.rates(table))
    listed.update(rates)
    original.unlink()
    bad = original.with_name("rates.parquet")
    pq.write_table(
        pa.table(
            {
                "currency": pa.array(list(listed), pa.string()),
                "usd_rate": pa.array(
                    [None if v is None else Decimal(str(v)) for v in listed.values()],
                    pa.decimal128(18, 8),
                ),
            }
        ),
        bad,
    )
    return bad


@pytest.mark.parametrize(("rate", "written"), [("0", "0"), ("-1.5", "-1.5"), (None, "null")])
def test_an_fx_rate_that_is_zero_negative_or_null(engine, home, rate, written):
    bad = fx_with(home, {"EUR": rate})
    assert_only_the_bad_day_fails(
        engine, home, "transactions", str(bad), f"usd_rate for EUR is {written}: a rate must be"
    )


def test_an_fx_file_that_does_not_decode(engine, home):
    original = badinput.first_file(home / "lake", "fx_rates", BAD)
    bad = original.with_name("broken.parquet")
    bad.write_bytes(b"PAR1 not really")
    assert_only_the_bad_day_fails(engine, home, "transactions", str(bad), "unreadable")


def test_conflicting_fx_rows_fail_and_identical_ones_count_once(engine, home):
    original = badinput.first_file(home / "lake", "fx_rates", BAD)
    table = pq.read_table(original)
    pq.write_table(table, original.with_name("again.parquet"))
    conflicting = original.with_name("conflict.parquet")
    rates = table.column("usd_rate").to_pylist()
    assert Decimal("2.5") not in rates
    pq.write_table(
        badinput.with_column(
            table, "usd_rate", pa.array([Decimal("2.5")] * len(rates), pa.decimal128(18, 8))
        ),
        conflicting,
    )
    error = assert_only_the_bad_day_fails(engine, home, "transactions", "conflicting usd_rate")
    # The rate as written, not as decimal(18,8) prints it (2.50000000).
    assert re.search(r"conflicting usd_rate for \w+: [0-9.]+ and 2\.5$", error), error
    conflicting.rename(conflicting.with_suffix(".rejected"))
    assert not rerun(engine, home)["silver.transactions"].failed


def test_an_amount_usd_beyond_decimal_18_2_names_the_file_and_the_event_ids(engine, home):
    lake = home / "lake"
    fx = pq.read_table(badinput.first_file(lake, "fx_rates", BAD))
    above_one = next(c for c, r in badinput.rates(fx).items() if r > 1)
    source = badinput.read(lake, "transactions", BAD).slice(0, 3)
    source = badinput.with_column(source, "event_id", pa.array(["huge-1", "huge-2", "huge-3"]))
    source = badinput.with_column(source, "event_type", pa.array(["DEPOSIT"] * 3))
    source = badinput.with_column(source, "currency", pa.array([above_one] * 3))
    source = badinput.with_column(source, "amount", badinput.money(["9999999999999999.99"] * 3))
    bad = badinput.folder(lake, "transactions", BAD) / "huge.parquet"
    pq.write_table(source.select(badinput.read(lake, "transactions", BAD).column_names), bad)
    assert_only_the_bad_day_fails(
        engine,
        home,
        "transactions",
        str(bad),
        "does not fit decimal(18,2)",
        "event_id huge-1, huge-2, huge-3",
    )


# Files that are data, and files that are not.


def silver_event_ids(home: Path, prefix: str) -> list[str]:
    """The event ids starting with `prefix` in silver, valid or rejected (one row each)."""
    found = query(
        home,
        f"SELECT event_id FROM silver.transactions WHERE event_id LIKE '{prefix}%' UNION ALL "
        f"SELECT event_id FROM silver.transactions_rejected WHERE event_id LIKE '{prefix}%'",
    )
    return sorted(r[0] for r in found)


def test_a_file_named_with_an_underscore_is_data(engine, home):
    lake = home / "lake"
    late = badinput.read(lake, "transactions", BAD).slice(0, 2)
    late = badinput.with_column(late, "event_id", pa.array(["late-1", "late-2"]))
    pq.write_table(late, badinput.folder(lake, "transactions", BAD) / "_late.parquet")
    assert not rerun(engine, home)["silver.transactions"].failed
    assert silver_event_ids(home, "late-") == ["late-1", "late-2"]


def test_a_stale_crc_file_is_not_data_and_fails_nothing(engine, home):
    data = badinput.first_file(home / "lake", "transactions", BAD)
    (data.parent / f".{data.name}.crc").write_bytes(b"crc\x00\x00\x00\x00stale checksum")
    (data.parent / "_SUCCESS").write_bytes(b"")
    before = versions(home, "silver.transactions")[BAD][1]
    results = rerun(engine, home)
    assert not results["silver.transactions"].failed
    assert versions(home, "silver.transactions")[BAD] == ("again", before)


def test_extra_columns_are_accepted(engine, home):
    lake = home / "lake"
    extra = badinput.read(lake, "transactions", BAD).slice(0, 2)
    extra = badinput.with_column(extra, "event_id", pa.array(["extra-1", "extra-2"]))
    extra = extra.append_column("loyalty_tier", pa.array(["gold", "silver"]))
    pq.write_table(extra, badinput.folder(lake, "transactions", BAD) / "extra.parquet")
    assert not rerun(engine, home)["silver.transactions"].failed
    assert silver_event_ids(home, "extra-") == ["extra-1", "extra-2"]


def test_a_flood_of_one_event_id_keeps_one_row_and_counts_every_other(engine, home):
    lake = home / "lake"
    row = badinput.read(lake, "transactions", BAD).slice(0, 1)
    flood = pa.concat_tables([row] * 100_000)
    flood = badinput.with_column(flood, "event_id", pa.array(["flood"] * 100_000))
    pq.write_table(flood, badinput.folder(lake, "transactions", BAD) / "flood.parquet")
    results = rerun(engine, home)
    assert not results["silver.transactions"].failed
    assert silver_event_ids(home, "flood") == ["flood"]
    identity = results["silver.transactions"].audits["silver.transactions"]
    assert all(a.passed for a in identity if a.name == "count_identity")


def test_emails_are_trimmed_as_python_strips_and_an_empty_one_hashes_to_null(engine, home):
    lake = home / "lake"
    snapshot = badinput.read(lake, "customers", BAD)
    ids = snapshot.column("customer_id").to_pylist()[:3]
    padded = ["\u3000\u00a0Padded@Example.COM\u2029\t", "\u2007 \u202f", ""]
    rows = snapshot.filter(pa.compute.is_in(snapshot.column("customer_id"), pa.array(ids)))
    rows = rows.slice(0, 3)
    rows = badinput.with_column(rows, "customer_id", pa.array(ids))
    rows = badinput.with_column(rows, "email", pa.array(padded))
    rows = badinput.with_column(
        rows,
        "updated_at",
        pa.array(
            [rows.column("updated_at")[0].as_py().replace(year=2099)] * 3,
            rows.schema.field("updated_at").type,
        ),
    )
    pq.write_table(rows, badinput.folder(lake, "customers", BAD) / "padded.parquet")
    assert not rerun(engine, home)["silver.customers"].failed
    hashed = dict(
        query(
            home,
            "SELECT customer_id, email_sha256 FROM silver.customers "
            f"WHERE business_date = DATE '{BAD}' AND customer_id IN ('{ids[0]}', '{ids[1]}', "
            f"'{ids[2]}')",
        )
    )
    expected = hashlib.sha256(padded[0].strip().lower().encode()).hexdigest()
    assert hashed == {ids[0]: expected, ids[1]: None, ids[2]: None}


# Folders that give no data are warned of where raw is observed.


def test_folders_without_data_are_warnings_of_the_raw_observation(home, monkeypatch):
    monkeypatch.setenv("FINSIGHT_HOME", str(home))
    monkeypatch.setenv("FINSIGHT_START_DATE", BAD.isoformat())
    raw = home / "lake" / "raw" / "transactions"
    (raw / "business_date=2026-02-30").mkdir()
    shutil.copy(
        badinput.first_file(home / "lake", "transactions", BAD), raw / "business_date=2026-02-30"
    )
    empty = raw / f"business_date={(GOOD + timedelta(days=1)).isoformat()}"
    empty.mkdir()
    (empty / "_SUCCESS").write_bytes(b"")
    instance = dg.DagsterInstance.ephemeral()
    job = build_definitions(Settings.from_env()).resolve_job_def("observe_raw")
    result = job.execute_in_process(instance=instance)
    assert result.success
    (summary,) = [
        e.asset_observation_data.asset_observation.metadata
        for e in result.get_asset_observation_events()
        if e.asset_key.path[-1] == "transactions" and e.partition is None
    ]
    ignored = "not a business_date=YYYY-MM-DD folder of a valid date: ignored"
    assert summary["folders_without_data"].value == {
        "business_date=2026-02-30": ignored,
        empty.name: "holds no .parquet file: no data that day",
    }
    warnings = [
        e.user_message for e in instance.all_logs(result.run_id) if e.level == logging.WARNING
    ]
    assert f"raw/transactions/business_date=2026-02-30: {ignored}" in warnings
    assert any(w.startswith(f"raw/transactions/{empty.name}: holds no .parquet") for w in warnings)


def test_a_day_without_a_customers_snapshot_publishes_unknown_segments_with_a_warning(engine, home):
    snapshot = badinput.folder(home / "lake", "customers", BAD)
    shutil.move(snapshot, home / "withdrawn-snapshot")
    results = rerun(engine, home)
    segment = results["gold.segment_daily_report"]
    assert not segment.failed
    (check,) = [
        a
        for a in segment.audits["gold.segment_daily_report"]
        if a.name == "customers_snapshot_present"
    ]
    assert not check.blocking
    assert check.by_date == {BAD: False, GOOD: True}
    assert "no customers snapshot on 2025-03-03" in check.summary
    segments = query(
        home,
        "SELECT DISTINCT segment, country FROM gold.segment_daily_report "
        f"WHERE business_date = DATE '{BAD}'",
    )
    assert segments == [("UNKNOWN", "ZZ")]


def test_a_day_sum_beyond_decimal_18_2_fails_that_day_of_gold_naming_the_customer(engine, home):
    lake = home / "lake"
    source = badinput.read(lake, "transactions", BAD).slice(0, 2)
    customer = source.column("customer_id")[0].as_py()
    account = source.column("account_id")[0].as_py()
    source = badinput.with_column(source, "event_id", pa.array(["big-1", "big-2"]))
    source = badinput.with_column(source, "customer_id", pa.array([customer] * 2))
    source = badinput.with_column(source, "account_id", pa.array([account] * 2))
    source = badinput.with_column(source, "event_type", pa.array(["DEPOSIT"] * 2))
    source = badinput.with_column(source, "currency", pa.array(["USD"] * 2))
    source = badinput.with_column(source, "amount", badinput.money(["9000000000000000.00"] * 2))
    pq.write_table(source, badinput.folder(lake, "transactions", BAD) / "big.parquet")
    before = {t: versions(home, t) for t in ("gold.daily_customer_summary", "silver.transactions")}
    # The balance chain publishes whole or not at all: it refuses, naming the day and account.
    with pytest.raises(AuditFailed, match=f"money_fits .*{BAD} account_id {account}"):
        rerun(engine, home)
    assert versions(home, "silver.transactions")[BAD][0] == "again"
    summary = versions(home, "gold.daily_customer_summary")
    assert summary[BAD] == before["gold.daily_customer_summary"][BAD]
    assert summary[GOOD][0] == "again"
    (verdict,) = query(
        home,
        "SELECT passed, detail FROM audit.check_results WHERE run_id = 'again' "
        "AND table_name = 'gold.daily_customer_summary' AND check_name = 'money_fits' "
        f"AND business_date = DATE '{BAD}'",
    )
    assert verdict[0] is False
    assert f"customer_id {customer}: deposit_usd, net_flow_usd" in verdict[1]


def test_the_cli_prints_the_error_as_it_is(engine, home, monkeypatch):
    from typer.testing import CliRunner

    from finsight_assets.cli.main import app
    from finsight_assets_tests.faults.matrix import backfills

    monkeypatch.setenv("FINSIGHT_HOME", str(home))
    monkeypatch.setenv("FINSIGHT_START_DATE", BAD.isoformat())
    table = badinput.read(home / "lake", "transactions", BAD)
    bad = badinput.folder(home / "lake", "transactions", BAD) / "paris.parquet"
    paris = table.column("event_ts").cast(pa.timestamp("us", tz="Europe/Paris"))
    pq.write_table(badinput.with_column(table, "event_ts", paris), bad)
    # The days are published: materializing them again takes a manifest.
    manifest = backfills().plan(reason="redelivered", requested_by="ann", start=BAD, end=GOOD)
    result = CliRunner().invoke(
        app,
        ["materialize", "--start", BAD.isoformat(), "--end", GOOD.isoformat()]
        + ["--manifest", manifest.id],
    )
    shown = " ".join(result.output.split())
    assert (
        f"{bad}: column event_ts has type timestamp[us, tz=Europe/Paris], "
        "the contract says timestamp[us, tz=UTC]"
    ) in shown, result.output
