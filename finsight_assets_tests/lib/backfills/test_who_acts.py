"""Who acts on a backfill, from outside as it was found: spellings of one name, a UI
backfill's `user` tag set by hand, every operation's actor in the store, a rejection followed
by a retry and an approval, and what the report and `status` say once an approval published."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import pytest
from typer.testing import CliRunner

from finsight_assets.cli.main import app
from finsight_assets.defs.sensors.backfill_manifests import _plan_ui_backfill
from finsight_assets.dev.synthetic import generate_raw
from finsight_assets.lib.backfills import approval, events, launch, lifecycle, stages
from finsight_assets.lib.backfills.manifests import BackfillError, ManifestError
from finsight_assets.lib.backfills.operations import Backfills, open_backfills
from finsight_assets.lib.backfills.people import REQUESTER_UNAUTHENTICATED
from finsight_assets.lib.backfills.progress import Progress
from finsight_assets.lib.backfills.report.markdown import render_markdown
from finsight_assets.lib.contract.run_tags import ui_manifest_id
from finsight_assets.lib.engines.webserver_answers import BackfillState
from finsight_assets.lib.settings import Settings
from finsight_assets_tests.held import hold_customers, publish_customers
from finsight_assets_tests.lib.engines import test_webserver
from finsight_assets_tests.ui_backfills import ui_backfill

FIRST = date(2025, 3, 1)
CLOCK = datetime(2025, 3, 10, 9, 0, tzinfo=UTC)
UNREACHABLE = "http://127.0.0.1:9"
CUSTOMERS = "silver.customers"
DAYS_8 = [FIRST + timedelta(days=i) for i in range(8)]

webserver = test_webserver.webserver


def day(n: int) -> date:
    return FIRST + timedelta(days=n)


@pytest.fixture
def ops(home) -> Backfills:
    generate_raw(home / "lake", FIRST, day(1), rows_per_day=20, seed=5)
    ops = open_backfills(replace(Settings.from_env(), webserver_url=UNREACHABLE), lambda: CLOCK)
    # The daily lane published day 1 before any backfill: what a rollback restores.
    publish_customers(ops.connect, ops.lake, day(1), "C0")
    return ops


def held_plan(ops: Backfills, days: int, by: str = "Ann") -> tuple[str, str]:
    """A manifest of `days` requested days by `by`, its run holding silver.customers of day 1:
    its id and the evidence digest to approve."""
    manifest = ops.plan(
        reason="fix FX",
        requested_by=by,
        requested_dates={"silver.customers": [day(i) for i in range(days)]},
    )
    hold_customers(ops.connect, ops.lake, manifest.id, day(1), "C1", "C2")
    digest = ops.evidence_digest(manifest.id)
    assert digest is not None
    return manifest.id, digest


def test_one_person_however_the_name_is_typed(ops):
    manifest_id, digest = held_plan(ops, 35)
    assert ops.store.get(manifest_id).approvals_required == 2
    with pytest.raises(ManifestError, match="Ann requested .* cannot approve"):
        ops.approve(manifest_id, "Ａｎｎ", digest)
    with pytest.raises(ManifestError, match=r"invisible or control character \(U\+200B ZERO"):
        ops.approve(manifest_id, "Ann\u200b", digest)
    with pytest.raises(ManifestError, match="U\\+202E RIGHT-TO-LEFT OVERRIDE"):
        ops.approve(manifest_id, "\u202ennA", digest)
    assert ops.approve(manifest_id, "Bob", digest).published is None
    with pytest.raises(ManifestError, match="already approved"):
        ops.approve(manifest_id, "ｂｏｂ", digest)
    assert [a["by"] for a in ops.approvals(manifest_id)] == ["Bob"]
    assert ops.stage(manifest_id) == stages.AWAITING_APPROVAL
    with pytest.raises(ManifestError, match="invisible"):
        ops.plan(reason="x", requested_by="Carl\u200d", start=day(0), end=day(0))


def its_runs_ended(monkeypatch: pytest.MonkeyPatch) -> None:
    """Dagster says the UI backfill ended, every partition computed and nothing of its scope
    left to launch (this module runs no daemon)."""
    ended = BackfillState("uibackfill1", "COMPLETED", [], [], {})
    monkeypatch.setattr(
        lifecycle,
        "progress",
        lambda _, manifest_id: Progress(manifest_id, [ended], 1, 1, 0, 0, 2, 1.0, True),
    )
    monkeypatch.setattr(lifecycle, "failed_ranges", lambda *_: [])


def test_a_ui_backfill_cannot_be_approved_by_its_launcher_alone(ops, monkeypatch):
    its_runs_ended(monkeypatch)
    # Ann launches 8 days from the UI and types someone else's name into the `user` tag.
    manifest_id = ui_manifest_id("uibackfill1")
    _plan_ui_backfill(
        ops, ui_backfill("uibackfill1", CUSTOMERS, DAYS_8, {"user": "Bob"}), manifest_id
    )
    manifest = ops.store.get(manifest_id)
    assert manifest.extra == {REQUESTER_UNAUTHENTICATED: True}
    # The matrix asks one approver of 8 days; an unauthenticated requester costs one more.
    assert manifest.approvals_required == 2
    hold_customers(ops.connect, ops.lake, manifest_id, day(1), "C1")
    digest = ops.evidence_digest(manifest_id)
    alone = ops.approve(manifest_id, "Ann", digest)
    assert alone.published is None and alone.required == 2
    assert ops.stage(manifest_id) == stages.AWAITING_APPROVAL
    with pytest.raises(ManifestError, match="not approved yet"):
        ops.publish_held(manifest_id, "Ann")
    with pytest.raises(ManifestError, match="bob requested"):
        ops.approve(manifest_id, "bob", digest)
    second = ops.approve(manifest_id, "Carl", digest)
    assert second.published is not None and len(second.published.published) == 1
    # A tag no one could be named by is kept, escaped, and still costs the extra approver.
    invisible = ui_manifest_id("uibackfill2")
    _plan_ui_backfill(
        ops, ui_backfill("uibackfill2", CUSTOMERS, DAYS_8, {"user": "Ann\u200b"}), invisible
    )
    assert ops.store.get(invisible).requested_by == "'Ann\\u200b' (not a name)"


def actors(ops: Backfills, manifest_id: str) -> list[tuple[str, str | None]]:
    return [(e["event"], e.get("by")) for e in ops.store.events(manifest_id)]


def test_every_operation_records_its_actor(ops, webserver, monkeypatch):
    live = replace(ops, webserver=webserver)
    launched = live.plan(reason="fix", requested_by="Ann", start=day(0), end=day(0)).id
    live.launch(launched, by="Dana")
    assert live.cancel(launched, by="Eve")
    monkeypatch.setattr(launch, "progress", lambda *_: SimpleNamespace(finished=True))
    live.retry(launched, by="Finn")
    assert actors(live, launched) == [
        (events.PLANNED, "Ann"),
        (events.LAUNCH.requested, "Dana"),
        (events.LAUNCH.done, "Dana"),
        (events.CANCELLED, "Eve"),
        (events.RETRY.requested, "Finn"),
        (events.RETRY.done, "Finn"),
    ]

    # Approved, then the process dies before it publishes: Gus publishes; Hal rolls back.
    published, digest = held_plan(ops, 8)
    with monkeypatch.context() as dying:
        dying.setattr(approval, "_publish", lambda *_: (_ for _ in ()).throw(SystemExit(9)))
        with pytest.raises(SystemExit):
            ops.approve(published, "Bob", digest)
    assert ops.publish_held(published, "Gus").published
    ops.rollback(published, by="Hal")
    assert actors(ops, published)[1:] == [
        (events.APPROVED, "Bob"),
        (events.PUBLISHING_HELD, "Gus"),
        (events.PUBLISHED_HELD, "Gus"),
        (events.ROLLED_BACK, "Hal"),
    ]

    rejected, _ = held_plan(ops, 8)
    ops.reject(rejected, "Ivy", "wrong FX file")
    assert actors(ops, rejected)[1:] == [(events.REJECTED, "Ivy")]

    ops.prune_history(90, by="Jo")
    assert actors(ops, events.HISTORY_LOG) == [(events.HISTORY_PRUNED, "Jo")]
    # Unnamed on the embedded default, the operating-system account is recorded.
    ops.prune_history(90)
    assert "(OS account; no --by given)" in actors(ops, events.HISTORY_LOG)[-1][1]


def test_a_rejection_is_final(ops):
    manifest_id, digest = held_plan(ops, 8)
    assert ops.reject(manifest_id, "Bob", "wrong FX file") == 1
    for attempt in (
        lambda: ops.retry(manifest_id, by="Ann"),
        lambda: ops.launch(manifest_id, by="Ann"),
        lambda: ops.reject(manifest_id, "Carl", "again"),
    ):
        with pytest.raises((ManifestError, BackfillError), match="rejected by Bob"):
            attempt()
    # Its run holds again (a late run, a hand-made hold): still nobody may approve or publish.
    hold_customers(ops.connect, ops.lake, manifest_id, day(1), "C1", "C3")
    again = ops.evidence_digest(manifest_id)
    with pytest.raises(ManifestError, match="a rejection is final"):
        ops.approve(manifest_id, "Carl", again)
    with pytest.raises(ManifestError, match="a rejection is final"):
        ops.publish_held(manifest_id, "Carl")
    with pytest.raises(ManifestError, match="a rejection is final"):
        ops.store.approve(manifest_id, "Carl", CLOCK, again, again)
    assert not ops.store.is_approved(manifest_id, again)
    assert ops.stage(manifest_id) == stages.REJECTED


def test_report_and_status_show_the_approval_that_published(ops, home, monkeypatch):
    manifest_id, digest = held_plan(ops, 8)
    assert ops.approve(manifest_id, "Bob", digest).published is not None
    assert ops.evidence_digest(manifest_id) is None
    monkeypatch.setenv("DAGSTER_WEBSERVER_URL", UNREACHABLE)
    for moment in ("published", "rolled back"):
        summary = render_markdown(ops.evidence(manifest_id), None)
        line = next(x for x in summary.splitlines() if x.startswith("- **Approvals:**"))
        assert line.startswith(
            f"- **Approvals:** 1 of 1 approvals (Bob) of evidence `{digest}` — Bob at "
        ), (moment, line)
        assert "missing" not in summary, moment
        status = CliRunner().invoke(app, ["backfill", "status", manifest_id, "--json"])
        assert status.exit_code == 0, status.output
        [shown] = json.loads(status.output)["approvals"]
        assert (shown["by"], shown["digest"]) == ("Bob", digest), moment
        assert datetime.fromisoformat(shown["at"]) == CLOCK
        human = CliRunner().invoke(app, ["backfill", "status", manifest_id])
        assert "approvals: 1 of 1 approvals (Bob)" in " ".join(human.output.split())
        assert "sha256:" not in human.output
        if moment == "published":
            ops.rollback(manifest_id, by="Hal")


def test_the_commands_record_the_name_given_and_refuse_an_invisible_one(ops, monkeypatch):
    monkeypatch.setenv("DAGSTER_WEBSERVER_URL", UNREACHABLE)
    cli = CliRunner()
    pruned = cli.invoke(app, ["backfill", "prune-history", "--by", "Ｊｏ", "--json"])
    assert pruned.exit_code == 0, pruned.output
    assert json.loads(pruned.output)["by"] == "Jo"
    manifest_id, digest = held_plan(ops, 8)
    for command in (
        ["approve", manifest_id, "--evidence", digest],
        ["reject", manifest_id, "--reason", "no"],
        ["publish", manifest_id],
        ["rollback", manifest_id, "--force"],
        ["cancel", manifest_id],
    ):
        hidden = cli.invoke(app, ["backfill", *command, "--by", "Bob\u200b"])
        assert hidden.exit_code == 1, (command, hidden.output)
        assert "invisible or control character (U+200B" in " ".join(hidden.output.split())
    assert [e["event"] for e in ops.store.events(manifest_id)] == [events.PLANNED]
