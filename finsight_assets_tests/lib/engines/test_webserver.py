"""The webserver client against a real `dagster-webserver` on 127.0.0.1, with no daemon.

Without a daemon nothing moves on: a backfill stays REQUESTED, a run stays QUEUED.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator

import pytest

from finsight_assets.dev.stack import BIN, free_port, wait_for
from finsight_assets.lib.engines.webserver import (
    BackfillState,
    DagsterApiError,
    DagsterWebserver,
    PartitionRange,
    RunSummary,
    WebserverUnavailable,
)
from finsight_assets.lib.engines.webserver_answers import FINISHED_RUN_STATUSES
from finsight_assets.lib.settings import REPOSITORY_ROOT


@pytest.fixture(scope="module")
def webserver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DagsterWebserver]:
    home = tmp_path_factory.mktemp("webserver")
    (home / "dagster").mkdir()
    shutil.copyfile(REPOSITORY_ROOT / "dagster.yaml", home / "dagster" / "dagster.yaml")
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home / "dagster"),
        "FINSIGHT_HOME": str(home),
        "FINSIGHT_START_DATE": "2025-03-01",
        "SPARK_LOCAL_IP": "127.0.0.1",
    }
    port = free_port()
    command = [str(BIN / "dagster-webserver"), "-h", "127.0.0.1", "-p", str(port)]
    command += ["-w", str(REPOSITORY_ROOT / "workspace.yaml")]
    with open(home / "webserver.log", "w") as log:
        process = subprocess.Popen(
            command, env=env, cwd=REPOSITORY_ROOT, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        client = DagsterWebserver(f"http://127.0.0.1:{port}")
        wait_for(lambda: process.poll() is not None or client.answers(), 120, "the webserver", 0.5)
        assert process.poll() is None, (home / "webserver.log").read_text()
        # A location that failed to load raises its error here.
        wait_for(client.location_loaded, 120, "the code location", 0.5)
        yield client
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_ping_answers(webserver):
    webserver.ping()


def test_building_a_client_sends_nothing_and_calls_say_how_to_start_a_webserver():
    unreachable = DagsterWebserver("http://127.0.0.1:9")
    with pytest.raises(WebserverUnavailable, match="make dev") as raised:
        unreachable.ping()
    assert str(raised.value) == (
        "no Dagster webserver answers at http://127.0.0.1:9 (ConnectionError). Start the "
        "webserver and daemon with `make dev` (or set DAGSTER_WEBSERVER_URL)."
    )
    for call in (lambda: unreachable.run("r"), lambda: unreachable.launch_run("j", {})):
        with pytest.raises(WebserverUnavailable):
            call()


def test_a_backfill_launches_reads_back_and_cancels(webserver):
    customers = PartitionRange(["silver", "customers"], "2025-03-01", "2025-03-01")
    backfill_id = webserver.launch_backfill([customers], {"who": "test"}, "one day", "a test")
    assert isinstance(backfill_id, str) and backfill_id

    state = webserver.backfill(backfill_id)
    assert isinstance(state, BackfillState)
    assert (state.backfill_id, state.status, state.runs) == (backfill_id, "REQUESTED", [])
    assert state.tags["who"] == "test"
    assert [(a.asset, a.targeted, a.materialized) for a in state.assets] == [
        ("silver.customers", 1, 0)
    ]

    webserver.cancel_backfill(backfill_id)
    assert webserver.backfill(backfill_id).status in {"CANCELING", "CANCELED"}


def test_a_run_launches_reads_back_and_terminates(webserver):
    run_id = webserver.launch_run("observe_raw", {"k": "v"})

    run = webserver.run(run_id)
    assert isinstance(run, RunSummary)
    assert (run.run_id, run.status, run.end_time) == (run_id, "QUEUED", None)
    assert run.tags["k"] == "v"

    # A queued run is canceled on the spot; once it is, the server refuses to terminate it.
    webserver.terminate_run(run_id)
    run = webserver.run(run_id)
    assert run.status == "CANCELED" and run.status in FINISHED_RUN_STATUSES
    assert run.end_time is not None
    with pytest.raises(DagsterApiError, match="could not be terminated due to having status"):
        webserver.terminate_run(run_id)


def test_refusals_carry_the_servers_message(webserver):
    with pytest.raises(DagsterApiError, match="BackfillNotFoundError: Backfill no-such-id"):
        webserver.backfill("no-such-id")
    with pytest.raises(DagsterApiError, match="RunNotFoundError"):
        webserver.run("no-such-id")
    with pytest.raises(DagsterApiError, match="PipelineNotFoundError"):
        webserver.launch_run("no_such_job", {})


def test_graphql_errors_and_non_graphql_answers_are_api_errors(webserver):
    customers = PartitionRange(["silver", "customers"], "2025-03-01", "2025-03-01")
    # The tag's value is no String: the server rejects the variables before running anything.
    with pytest.raises(DagsterApiError, match="String cannot represent a non string value"):
        webserver.launch_backfill([customers], {"k": 1}, "bad", "")  # type: ignore[dict-item]
    # Under a path prefix the webserver does not serve, the answer is no GraphQL.
    with pytest.raises(DagsterApiError, match="answered HTTP 405"):
        DagsterWebserver(f"{webserver.url}/nowhere").ping()


def test_errors_never_show_the_urls_credentials():
    unreachable = DagsterWebserver("http://ann:s3cret@127.0.0.1:9/dagster")
    with pytest.raises(WebserverUnavailable) as raised:
        unreachable.ping()
    assert "s3cret" not in str(raised.value) and "ann" not in str(raised.value)
    assert "http://127.0.0.1:9/dagster" in str(raised.value)
