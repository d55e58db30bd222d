"""The backfill report: what the Markdown says, that the chart is a real PNG, and determinism."""

from __future__ import annotations

import struct
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from finsight_assets.dev.synthetic import generate_raw
from finsight_assets.lib.backfills.manifests import AssetRange, Estimate, Manifest
from finsight_assets.lib.backfills.operations import open_backfills
from finsight_assets.lib.backfills.report.chart import (
    CHART_DPI,
    CHART_SIZE_INCHES,
    money_panels,
    render_chart,
)
from finsight_assets.lib.backfills.report.files import write_report
from finsight_assets.lib.backfills.report.markdown import render_markdown
from finsight_assets.lib.backfills.report.model import (
    BackfillEvidence,
    CheckEvidence,
    PartitionEvidence,
    RunTiming,
)
from finsight_assets.lib.contract.run_tags import BACKFILL, DRY_RUN
from finsight_assets.lib.settings import Settings

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
CHART_PIXELS = tuple(round(inches * CHART_DPI) for inches in CHART_SIZE_INCHES)
START = date(2025, 3, 3)
RUN_A = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
RUN_B = "9a8b7c6d-5e4f-3a2b-1c0d-e9f8a7b6c5d4"
CLOCK = datetime(2025, 3, 10, 6, 0, tzinfo=UTC)

MANIFEST = Manifest(
    id="bf-20250310-fx-fix",
    created_at=datetime(2025, 3, 9, 16, 30, tzinfo=UTC),
    reason="Re-run with corrected EUR/USD rates from the reference feed",
    requested_by="dana.ops",
    mode=BACKFILL,
    source="cli",
    requested_start=date(2025, 3, 3),
    requested_end=date(2025, 3, 7),
    ranges=(
        AssetRange("silver.transactions", date(2025, 3, 3), date(2025, 3, 7)),
        AssetRange("gold.account_daily_balance", date(2025, 3, 3), date(2025, 3, 9)),
    ),
    input_versions={"2025-03-03": {"raw/transactions/business_date=2025-03-03": "etag-1"}},
    code_versions={"silver.transactions": "v7", "gold.account_daily_balance": "v3"},
    git_commit="4f2c9e1ab77d",
    config_hash="c0ffee",
    fx_version="fx-2025-03-09",
    publish_policy="write-audit-publish",
    side_effects_allowed=False,
    limits={"days_per_run": 7, "max_concurrent_backfill_runs": 2},
    estimate=Estimate(
        partitions=12,
        raw_rows=60000,
        raw_bytes=1_843_200,
        seconds=420.0,
        vcpu_hours=0.25,
        cost_usd="0.0310",
        rows_per_second=150.0,
        basis="measured on earlier runs",
    ),
    approvals_required=2,
)


def check(
    name: str, passed: bool = True, blocking: bool = True, summary: str = "ok"
) -> CheckEvidence:
    return CheckEvidence(name=name, passed=passed, blocking=blocking, summary=summary)


def partition(
    table: str, day: int, before: int | None, after: int | None, **kwargs
) -> PartitionEvidence:
    defaults = {
        "added": 0,
        "removed": 0,
        "changed": 0,
        "total_change": {},
        "checks": (check("row_count"), check("not_null_keys")),
        "version_id": f"{table[:4]}{day:02d}aaaabbbbcccc",
        "replaced_version_id": f"{table[:4]}{day:02d}00001111zzzz",
        "run_id": RUN_A,
    }
    defaults.update(kwargs)
    return PartitionEvidence(
        table=table,
        business_date=START + timedelta(days=day),
        rows_before=before,
        rows_after=after,
        **defaults,
    )


def realistic() -> BackfillEvidence:
    """Two tables, five days of transactions, one failed blocking check, one rolled back."""
    partitions = [
        partition(
            "silver.transactions",
            day,
            10_000 + 100 * day,
            10_012 + 100 * day,
            added=12,
            removed=0,
            changed=340 + day,
            total_change={"amount": f"-12.3{day}", "fee": "0.10"},
        )
        for day in range(5)
    ]
    partitions[2] = partition(
        "silver.transactions",
        2,
        10_200,
        10_150,
        added=3,
        removed=53,
        changed=977,
        total_change={"amount": "100000000000000000.01", "fee": "-0.50"},
        checks=(
            check("row_count"),
            check("amount_reconciles", passed=False, summary="off by 0.01 USD"),
            check("fx_rate_fresh", passed=False, blocking=False, summary="rates 2 days old"),
        ),
        rolled_back=True,
    )
    partitions += [
        partition(
            "gold.account_daily_balance",
            day,
            None if day == 6 else 2_000,
            2_000 + day,
            added=day,
            removed=0,
            changed=150,
            total_change={"balance": f"{day}.00"},
            run_id=RUN_B,
        )
        for day in range(7)
    ]
    runs = [
        RunTiming(RUN_A, "SUCCESS", CLOCK, CLOCK + timedelta(seconds=300), 5),
        RunTiming(
            RUN_B, "FAILURE", CLOCK + timedelta(seconds=60), CLOCK + timedelta(seconds=500), 7
        ),
    ]
    return BackfillEvidence(
        manifest=MANIFEST,
        approvals=[
            {"by": "erin.risk", "at": "2025-03-09T17:02:00+00:00"},
            {"by": "farid.data", "at": "2025-03-09T18:45:00+00:00"},
        ],
        events=[
            {"event": "launched", "at": "2025-03-10T06:00:00+00:00", "runs": 2},
            {"event": "run_failed", "at": "2025-03-10T06:08:20+00:00", "run_id": RUN_B},
            {
                "event": "rolled_back",
                "at": "2025-03-10T07:00:00+00:00",
                "partitions": ["2025-03-05"],
            },
        ],
        partitions=list(reversed(partitions)),
        runs=runs,
    )


def empty() -> BackfillEvidence:
    manifest = replace(MANIFEST, id="bf-dry", mode=DRY_RUN, estimate=None, code_versions={})
    return BackfillEvidence(manifest=manifest, approvals=[], events=[], partitions=[], runs=[])


def row_for(markdown: str, table: str, day: date) -> str:
    """The Markdown table row of one partition, found under its table's heading."""
    section = markdown.split(f"### {table}\n\n", 1)[1].split("\n\n", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith(f"| {day.isoformat()} |")]
    assert len(rows) == 1, section
    return rows[0]


def png_size(data: bytes) -> tuple[int, int]:
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_markdown_summary_names_the_backfill_and_its_approvers():
    markdown = render_markdown(realistic(), "chart.png")

    assert markdown.startswith("# Backfill bf-20250310-fx-fix\n")
    assert "Re-run with corrected EUR/USD rates from the reference feed" in markdown
    assert "dana.ops" in markdown
    assert (
        "2 of 2 approvals (erin.risk, farid.data) — erin.risk at 2025-03-09T17:02:00+00:00, "
        "farid.data at 2025-03-09T18:45:00+00:00" in markdown
    )
    assert "`4f2c9e1ab77d`" in markdown
    assert "silver.transactions: `v7`" in markdown
    assert "![Backfill bf-20250310-fx-fix chart](chart.png)" in markdown


def test_missing_approvals_are_flagged():
    evidence = realistic()
    one = BackfillEvidence(
        evidence.manifest,
        evidence.approvals[:1],
        evidence.events,
        evidence.partitions,
        evidence.runs,
    )

    assert "1 of 2 approvals (erin.risk; **1 missing**) — erin.risk at" in render_markdown(
        one, None
    )


def test_scope_counts_inclusive_days_per_range():
    markdown = render_markdown(realistic(), None)

    assert "| silver.transactions | 2025-03-03 | 2025-03-07 | 5 |" in markdown
    assert "| gold.account_daily_balance | 2025-03-03 | 2025-03-09 | 7 |" in markdown


def test_estimate_is_set_against_actuals_from_partitions_and_runs():
    markdown = render_markdown(realistic(), None)

    assert "| partitions | 12 | 12 (12 published; since: 1 rolled back) |" in markdown
    expected_rows = sum(10_012 + 100 * d for d in range(5)) - 10_212 + 10_150
    expected_rows += sum(2_000 + d for d in range(7))
    assert "| raw rows | 60,000 | — |" in markdown
    assert f"| rows published | — | {expected_rows:,} |" in markdown
    assert "| wall seconds | 420 | 500 |" in markdown
    assert "| run seconds (sum) | — | 740 |" in markdown
    assert "| vcpu_hours | 0.25 | — |" in markdown
    assert "| cost_usd | 0.0310 | — |" in markdown
    assert "| raw_bytes | 1,843,200 | — |" in markdown
    assert "| rows_per_second | 150 | — |" in markdown
    assert "| basis | measured on earlier runs | — |" in markdown
    assert "| raw_rows |" not in markdown and "| seconds | 420 |" not in markdown


def test_each_table_shows_rows_before_after_and_diffs():
    markdown = render_markdown(realistic(), None)

    plain = row_for(markdown, "silver.transactions", date(2025, 3, 4))
    assert plain.startswith("| 2025-03-04 | 10,100 → 10,112 (+12) | 12 | 0 | 341 |")
    shrunk = row_for(markdown, "silver.transactions", date(2025, 3, 5))
    assert shrunk.startswith("| 2025-03-05 | 10,200 → 10,150 (-50) | 3 | 53 | 977 |")
    assert shrunk.endswith("| `silv02aa` | `silv0200` | rolled back |")
    balances = row_for(markdown, "gold.account_daily_balance", date(2025, 3, 6))
    assert balances.startswith("| 2025-03-06 | 2,000 → 2,003 (+3) | 3 | 0 | 150 | balance: 3.00 |")
    assert balances.endswith("| live |")
    new = row_for(markdown, "gold.account_daily_balance", date(2025, 3, 9))
    assert "| — → 2,006 (new) |" in new


def test_partitions_are_sorted_by_table_then_date():
    markdown = render_markdown(realistic(), None)

    assert markdown.index("### gold.account_daily_balance") < markdown.index(
        "### silver.transactions"
    )
    section = markdown.split("### silver.transactions\n", 1)[1]
    dates = [line.split(" | ")[0][2:] for line in section.splitlines() if line.startswith("| 2025")]
    assert dates == sorted(dates) and len(dates) == 5


def test_failed_checks_are_named_in_bold_with_their_summaries():
    markdown = render_markdown(realistic(), None)

    row = row_for(markdown, "silver.transactions", date(2025, 3, 5))
    assert "| 1/3: **amount_reconciles**, **fx_rate_fresh** (warn) |" in row
    assert "2 of 25 checks failed:" in markdown
    assert (
        "- silver.transactions 2025-03-05: **amount_reconciles** (blocking) — off by 0.01 USD"
        in markdown
    )
    assert "**fx_rate_fresh** (warning) — rates 2 days old" in markdown


def test_all_passed_checks_are_counted():
    evidence = BackfillEvidence(MANIFEST, [], [], [partition("silver.customers", 0, 5, 5)], [])

    assert "All 2 checks passed." in render_markdown(evidence, None)


def test_money_changes_keep_their_exact_decimal_text():
    markdown = render_markdown(realistic(), None)

    assert "amount: 100000000000000000.01; fee: -0.50" in markdown
    assert "amount: -12.30; fee: 0.10" in markdown
    assert "balance: 0.00" in markdown
    assert "1e+17" not in markdown and "-0.5 " not in markdown


def test_runs_and_timeline_are_listed():
    markdown = render_markdown(realistic(), None)

    assert (
        "| `0f1e2d3c` | SUCCESS | 2025-03-10 06:00:00+00:00 | 2025-03-10 06:05:00+00:00 | 300 | 5 |"
        in markdown
    )
    assert "| `9a8b7c6d` | FAILURE |" in markdown
    assert "- 2025-03-10T06:00:00+00:00 **launched** — runs=2" in markdown
    assert f"**run_failed** — run_id={RUN_B}" in markdown
    assert '**rolled_back** — partitions=["2025-03-05"]' in markdown


def test_run_seconds_need_both_ends():
    assert RunTiming("r", "SUCCESS", CLOCK, CLOCK + timedelta(minutes=2), 1).seconds == 120.0
    assert RunTiming("r", "STARTED", CLOCK, None, 1).seconds is None
    assert RunTiming("r", "QUEUED", None, None, 0).seconds is None


def test_chart_is_a_png_of_the_expected_size(tmp_path: Path):
    path = render_chart(realistic(), tmp_path / "nested" / "chart.png")

    data = path.read_bytes()
    assert data.startswith(PNG_SIGNATURE)
    assert png_size(data) == CHART_PIXELS
    assert len(data) > 30_000


def test_chart_of_many_dates_and_tables_draws_lines(tmp_path: Path):
    tables = (
        "silver.transactions",
        "silver.customers",
        "gold.daily_customer_summary",
        "gold.account_daily_balance",
    )
    partitions = [
        partition(table, day, 1_000 * i + day, 1_000 * i + day + 1, rolled_back=day == 20)
        for i, table in enumerate(tables)
        for day in range(60)
    ]
    evidence = BackfillEvidence(replace(MANIFEST, reason="long " * 80), [], [], partitions, [])

    data = render_chart(evidence, tmp_path / "big.png").read_bytes()

    assert data.startswith(PNG_SIGNATURE)
    assert png_size(data) == CHART_PIXELS
    assert len(data) > 30_000


def test_importing_the_modules_does_not_import_matplotlib():
    modules = ", ".join(
        f"finsight_assets.lib.backfills.report.{name}"
        for name in (
            "model",
            "format",
            "overview",
            "markdown",
            "axes",
            "row_panels",
            "chart",
            "files",
        )
    )
    code = f"import sys, {modules}; print('matplotlib' in sys.modules)"

    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )

    assert result.stdout.strip() == "False"


def test_write_report_writes_both_files_named_by_id(tmp_path: Path):
    markdown, chart = write_report(realistic(), tmp_path / "reports")

    assert markdown == tmp_path / "reports" / "backfill-bf-20250310-fx-fix.md"
    assert chart == tmp_path / "reports" / "backfill-bf-20250310-fx-fix.png"
    assert "(backfill-bf-20250310-fx-fix.png)" in markdown.read_text(encoding="utf-8")
    assert chart.read_bytes().startswith(PNG_SIGNATURE)


def test_unsafe_ids_do_not_escape_the_output_directory(tmp_path: Path):
    evidence = BackfillEvidence(replace(MANIFEST, id="../x y"), [], [], [], [])

    markdown, chart = write_report(evidence, tmp_path)

    assert markdown.parent == tmp_path and markdown.name == "backfill-.._x_y.md"
    assert chart.exists()


def test_empty_evidence_still_renders_both_files(tmp_path: Path):
    markdown, chart = write_report(empty(), tmp_path)

    text = markdown.read_text(encoding="utf-8")
    assert "# Backfill bf-dry" in text
    assert "_No partitions were published._" in text
    assert "_No runs were launched._" in text
    assert "_No events were recorded._" in text
    assert "0 of 2 approvals (**2 missing**)" in text
    assert "| raw rows | — | — |" in text and "| rows published | — | — |" in text
    data = chart.read_bytes()
    assert data.startswith(PNG_SIGNATURE)
    assert png_size(data) == CHART_PIXELS
    assert len(data) > 5_000


@pytest.mark.parametrize("mode", ["dry_run", "failed"])
def test_partitions_without_counts_or_times_do_not_crash(tmp_path: Path, mode: str):
    unpublished = partition(
        "silver.transactions",
        0,
        None,
        None,
        added=None,
        removed=None,
        changed=None,
        checks=(),
        version_id=None,
        replaced_version_id=None,
        run_id=None,
    )
    evidence = BackfillEvidence(
        manifest=replace(
            MANIFEST,
            id=mode,
            mode=DRY_RUN if mode == "dry_run" else BACKFILL,
            ranges=(),
            estimate=None,
            code_versions={},
        ),
        approvals=[{}],
        events=[{}],
        partitions=[unpublished],
        runs=[RunTiming("x", "CANCELED", None, None, 0)],
    )

    markdown, chart = write_report(evidence, tmp_path)

    text = markdown.read_text(encoding="utf-8")
    assert "| 2025-03-03 | — → — | — | — | — | — | — | — | — | — |" in text
    assert "_No checks were recorded._" in text
    assert "_No ranges in the manifest._" in text
    assert chart.read_bytes().startswith(PNG_SIGNATURE)


def test_same_evidence_gives_identical_files(tmp_path: Path):
    first = write_report(realistic(), tmp_path / "one")
    second = write_report(realistic(), tmp_path / "two")

    for a, b in zip(first, second, strict=True):
        assert a.read_bytes() == b.read_bytes()
    assert render_markdown(empty(), None) == render_markdown(empty(), None)


def section(markdown: str, heading: str) -> str:
    """The text under one `## heading`, up to the next section."""
    return markdown.split(f"## {heading}\n\n", 1)[1].split("\n\n## ", 1)[0]


def test_a_planned_manifest_shows_its_estimated_rows_and_seconds(home: Path):
    generate_raw(home / "lake", date(2025, 3, 1), date(2025, 3, 3), rows_per_day=200, seed=4)
    backfills = open_backfills(
        replace(Settings.from_env(), webserver_url="http://127.0.0.1:9"), lambda: CLOCK
    )
    manifest = backfills.plan(
        reason="fix", requested_by="ann", start=date(2025, 3, 1), end=date(2025, 3, 2)
    )
    evidence = BackfillEvidence(
        manifest=backfills.store.get(manifest.id),
        approvals=[],
        events=backfills.store.events(manifest.id),
        partitions=[],
        runs=[],
    )

    estimate = section(render_markdown(evidence, None), "Estimate vs actual")

    planned = manifest.estimate
    assert planned is not None and planned.raw_rows > 0 and planned.seconds > 0
    seconds = f"{planned.seconds:,.3f}".rstrip("0").rstrip(".")
    assert f"| partitions | {planned.partitions:,} | 0 (0 published) |" in estimate
    assert f"| raw rows | {planned.raw_rows:,} | — |" in estimate
    assert f"| wall seconds | {seconds} | — |" in estimate
    assert f"| cost_usd | {planned.cost_usd} | — |" in estimate


def test_a_held_backfill_says_so_and_how_far_its_balance_chain_reaches():
    base = realistic()
    balance = [
        replace(p, held=True, total_change={"closing_balance_usd": f"{p.business_date.day}.05"})
        for p in base.partitions
        if p.table == "gold.account_daily_balance"
    ]
    held = replace(
        base, partitions=balance, evidence_digest="sha256:" + "ab" * 32, stage="awaiting approval"
    )
    markdown = render_markdown(held, None)
    assert f"held for approval, not live; evidence digest `sha256:{'ab' * 32}`" in markdown
    assert f"finsight backfill approve {MANIFEST.id} --evidence sha256:" in markdown
    reach = section(markdown, "Balance roll-forward")
    # Requested up to 2025-03-07; the chain was recomputed to 2025-03-09.
    assert "**Days past 2025-03-07:** 2 (2025-03-08 → 2025-03-09)" in reach
    assert "**Account rows changed:** 311 (at most 156 in a day)" in reach
    assert "17.10 USD summed over those days (last day: 9.05 USD)" in reach
    assert row_for(markdown, "gold.account_daily_balance", date(2025, 3, 9)).count("(held)") == 1
    assert "| rows held for approval | — |" in markdown and "| rows published |" not in markdown
    cancelled = render_markdown(replace(held, stage="cancelled"), None)
    assert "backfill approve" not in cancelled and "held for approval, not live" in cancelled
    assert "held for approval" not in render_markdown(base, None)


def money_evidence(days: int) -> BackfillEvidence:
    """`days` days of net flow and balances, each day's after 1.05 USD (net flow) and
    (day + 1) * 10.00 USD (balances) above its before."""
    partitions = []
    for day in range(days):
        for table, column, before, after in (
            ("gold.daily_customer_summary", "net_flow_usd", "1000.00", "1001.05"),
            (
                "gold.account_daily_balance",
                "closing_balance_usd",
                "50000.00",
                f"{50000 + 10 * (day + 1)}.00",
            ),
        ):
            partitions.append(
                partition(
                    table,
                    day,
                    100,
                    100,
                    changed=3,
                    total_before={column: before},
                    total_after={column: after},
                    total_change={column: str(Decimal(after) - Decimal(before))},
                )
            )
    return BackfillEvidence(MANIFEST, [], [], partitions, [])


def test_the_chart_shows_what_moved_in_money_exactly(tmp_path: Path):
    panels = dict(money_panels(money_evidence(3).partitions))
    assert list(panels) == ["net flow (USD)", "closing balances (USD)"]
    dates, before, after = panels["closing balances (USD)"]
    assert dates == [START + timedelta(days=i) for i in range(3)]
    assert before == [Decimal("50000.00")] * 3
    assert after == [Decimal("50010.00"), Decimal("50020.00"), Decimal("50030.00")]
    assert all(isinstance(v, Decimal) for v in panels["net flow (USD)"][2])


def test_the_chart_of_180_days_renders_at_its_size(tmp_path: Path):
    data = render_chart(money_evidence(180), tmp_path / "half-year.png").read_bytes()
    assert data.startswith(PNG_SIGNATURE) and png_size(data) == CHART_PIXELS
