"""Launch and retry: refused on drift from what was planned, and never submitted twice when the
process dies between submitting and recording (against a real webserver, with no daemon)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import pyarrow.parquet as pq
import pytest

from finsight_assets.dev.synthetic import generate_raw
from finsight_assets.lib.backfills import launch
from finsight_assets.lib.backfills.drift import Drift, drift
from finsight_assets.lib.backfills.manifests import BackfillError
from finsight_assets.lib.backfills.operations import Backfills, open_backfills
from finsight_assets.lib.backfills.planning import raw_input_versions
from finsight_assets.lib.contract.run_tags import ATTEMPT_TAG, MANIFEST_TAG
from finsight_assets.lib.settings import Settings
from finsight_assets.lib.tables import registry
from finsight_assets_tests.lib.engines import test_webserver

FIRST = date(2025, 3, 1)
CLOCK = datetime(2025, 3, 10, 9, 0, tzinfo=UTC)

# The real webserver of test_webserver.py, one for this module too.
webserver = test_webserver.webserver


class Crash(Exception):
    """The process dying at that point."""


def day(n: int) -> date:
    return FIRST + timedelta(days=n)


@pytest.fixture
def ops(home) -> Backfills:
    generate_raw(home / "lake", FIRST, day(3), rows_per_day=50, seed=7)
    return open_backfills(
        replace(Settings.from_env(), webserver_url="http://127.0.0.1:9"), lambda: CLOCK
    )


@pytest.fixture
def live(ops, webserver) -> Backfills:
    return replace(ops, webserver=webserver)


def planned(ops: Backfills) -> str:
    return ops.plan(reason="fix", requested_by="ann", start=day(1), end=day(1)).id


def redeliver(home, d: date) -> None:
    """Upstream re-sends the day's first transactions file, one row short."""
    folder = home / "lake" / "raw" / "transactions" / f"business_date={d}"
    first = sorted(folder.glob("*.parquet"))[0]
    table = pq.read_table(first)
    pq.write_table(table.slice(0, table.num_rows - 1), first)


def crash_on(monkeypatch: pytest.MonkeyPatch, ops: Backfills, event: str) -> None:
    record = ops.store.record

    def crashing(manifest_id, name, at, **fields):
        if name == event:
            raise Crash(name)
        record(manifest_id, name, at, **fields)

    monkeypatch.setattr(ops.store, "record", crashing)


def crash(*args, **kwargs):
    raise Crash("submitting")


def ended(monkeypatch: pytest.MonkeyPatch) -> None:
    """With no daemon a backfill never ends: say it has (to the launch operations)."""
    monkeypatch.setattr(launch, "progress", lambda *_: SimpleNamespace(finished=True))


def dagster_backfills(ops: Backfills, manifest_id: str) -> list[str]:
    return [
        b.backfill_id
        for b in ops.webserver.backfills_since(0)
        if b.tags.get(MANIFEST_TAG) == manifest_id
    ]


def events(ops: Backfills, manifest_id: str) -> list[str]:
    return [e["event"] for e in ops.store.events(manifest_id)]


def test_a_drifted_code_version_refuses_the_launch_and_names_it(ops, monkeypatch):
    manifest_id = planned(ops)
    monkeypatch.setitem(registry.CODE_VERSIONS, "silver.transactions", "2")
    assert drift(ops, ops.store.get(manifest_id)) == [
        Drift("code version", "silver.transactions", "1", "2")
    ]
    with pytest.raises(BackfillError) as refused:
        ops.launch(manifest_id)
    assert "code version of silver.transactions: planned 1, now 2" in str(refused.value)
    assert "Plan it again" in str(refused.value)
    assert events(ops, manifest_id) == ["planned"]


def test_a_raw_file_rewritten_after_the_plan_refuses_the_launch(ops, home):
    manifest_id = planned(ops)
    approved = ops.store.get(manifest_id).input_versions[day(1).isoformat()]["transactions"]
    redeliver(home, day(1))
    now = raw_input_versions(ops.lake, [day(1)])[day(1).isoformat()]["transactions"]
    assert now != approved
    # Refused before the webserver is asked anything (there is none at this URL).
    with pytest.raises(
        BackfillError, match=f"raw input {day(1)} transactions: planned {approved}, now {now}"
    ):
        ops.launch(manifest_id)
    assert events(ops, manifest_id) == ["planned"]


def test_another_git_commit_refuses_the_launch(ops):
    manifest_id = planned(ops)
    moved = replace(ops, git_commit="f" * 40)
    with pytest.raises(BackfillError, match=f"git commit: planned {ops.git_commit}, now f{{40}}"):
        moved.launch(manifest_id)


def test_an_unchanged_manifest_launches_tagged_with_its_attempt(live):
    manifest_id = planned(live)
    backfill_id = live.launch(manifest_id)
    (requested, launched) = live.store.events(manifest_id)[1:]
    assert (requested["event"], launched["event"]) == ("launch_requested", "launched")
    assert requested["attempt"] == launched["attempt"] and "backfill_id" not in requested
    tags = live.webserver.backfill(backfill_id).tags
    assert (tags[MANIFEST_TAG], tags[ATTEMPT_TAG]) == (manifest_id, requested["attempt"])
    assert live.store.backfill_ids(manifest_id) == [backfill_id]


def launch_dying_before_it_records(live, monkeypatch, manifest_id: str) -> None:
    """Launch, the process dying after Dagster took the backfill, before it was recorded."""
    with monkeypatch.context() as patched:
        crash_on(patched, live, "launched")
        with pytest.raises(Crash):
            live.launch(manifest_id)


def test_a_crash_after_submitting_never_launches_twice(live, monkeypatch):
    manifest_id = planned(live)
    launch_dying_before_it_records(live, monkeypatch, manifest_id)
    assert live.store.backfill_ids(manifest_id) == []
    (submitted,) = dagster_backfills(live, manifest_id)

    assert live.launch(manifest_id) == submitted
    assert dagster_backfills(live, manifest_id) == [submitted]
    assert live.store.backfill_ids(manifest_id) == [submitted]
    launched = live.store.events(manifest_id)[-1]
    assert (launched["event"], launched["recovered"]) == ("launched", True)
    with pytest.raises(BackfillError, match="launched already"):
        live.launch(manifest_id)


def test_a_crash_before_submitting_submits_on_the_next_launch(live, monkeypatch):
    manifest_id = planned(live)
    with monkeypatch.context() as patched:
        patched.setattr(live.webserver, "launch_backfill", crash)
        with pytest.raises(Crash):
            live.launch(manifest_id)
    backfill_id = live.launch(manifest_id)
    assert dagster_backfills(live, manifest_id) == [backfill_id]
    assert events(live, manifest_id) == [
        "planned",
        "launch_requested",
        "launch_not_submitted",
        "launch_requested",
        "launched",
    ]


def test_a_crash_after_submitting_a_retry_never_retries_twice(live, monkeypatch):
    manifest_id = planned(live)
    launched = live.launch(manifest_id)
    ended(monkeypatch)
    with monkeypatch.context() as patched:
        crash_on(patched, live, "retried")
        with pytest.raises(Crash):
            live.retry(manifest_id)
    (retried,) = set(dagster_backfills(live, manifest_id)) - {launched}

    assert live.retry(manifest_id) == retried
    assert sorted(dagster_backfills(live, manifest_id)) == sorted([launched, retried])
    event = live.store.events(manifest_id)[-1]
    assert (event["event"], event["backfill_id"], event["recovered"]) == ("retried", retried, True)
    assert {
        "asset": "silver.transactions",
        "start": day(1).isoformat(),
        "end": day(1).isoformat(),
    } in event["ranges"]


def test_cancel_finds_a_backfill_whose_launch_was_not_recorded(live, monkeypatch):
    manifest_id = planned(live)
    launch_dying_before_it_records(live, monkeypatch, manifest_id)
    (submitted,) = dagster_backfills(live, manifest_id)
    assert live.cancel(manifest_id) == [submitted]
    assert live.webserver.backfill(submitted).status in {"CANCELING", "CANCELED"}


def test_a_raw_file_rewritten_after_the_plan_refuses_the_retry(live, home, monkeypatch):
    manifest_id = planned(live)
    live.launch(manifest_id)
    ended(monkeypatch)
    redeliver(home, day(1))
    with pytest.raises(BackfillError, match=f"raw input {day(1)} transactions: planned"):
        live.retry(manifest_id)
    assert events(live, manifest_id)[-1] == "launched"


def test_the_backfill_listing_pages_through_every_backfill(live, monkeypatch):
    for _ in range(3):
        live.launch(planned(live))
    every = live.webserver.backfills_since(0)
    assert len(every) >= 3
    monkeypatch.setattr("finsight_assets.lib.engines.webserver.BACKFILLS_PER_PAGE", 2)
    assert live.webserver.backfills_since(0) == every
    assert [b.created for b in every] == sorted((b.created for b in every), reverse=True)
    assert live.webserver.backfills_since(every[0].created + 1) == []
