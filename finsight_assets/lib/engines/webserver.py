"""The Dagster webserver's GraphQL API: the calls the backfill CLI, sensors and dev stack make.

Runs go through dagster_graphql's DagsterGraphQLClient, Dagster's own client: it owns the
documents for submitting a job, reading a run's status and terminating a run, and keeps them in
step with the server's schema from one Dagster release to the next. It has no backfill calls and
its run status is the status alone, so those few documents live here, executed by a gql Client
over the very RequestsHTTPTransport the DagsterGraphQLClient uses: one URL, one timeout, and one
place (`webserver_errors.failure`) that turns any failure, whichever client met it, into
WebserverUnavailable (nothing answered) or DagsterApiError (the server answered and refused).

Both clients (and graphql-core, requests) are imported on the first call, not with this module:
the code location, its run workers and the CLI import it (through the backfill operations)
but a run never calls the webserver, and those imports cost about half a second of CPU.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from finsight_assets.lib.engines.webserver_answers import (
    BackfillState,
    BackfillSummary,
    PartitionRange,
    RunSummary,
    backfill_state,
    run_summary,
    tags_of,
)
from finsight_assets.lib.engines.webserver_errors import (
    DagsterApiError,
    WebserverUnavailable,
    failure,
    server_traceback,
)
from finsight_assets.lib.settings import DEFAULT_WEBSERVER_URL

if TYPE_CHECKING:
    from dagster_graphql import DagsterGraphQLClient
    from gql import Client, GraphQLRequest

T = TypeVar("T")

logger = logging.getLogger(__name__)

# The code location of workspace.yaml, which every launch targets.
LOCATION = "finsight"


def _documents():
    """The GraphQL documents of the calls, parsed by gql when first asked for."""
    from finsight_assets.lib.engines import webserver_documents

    return webserver_documents


# How many backfills one page of a listing holds.
BACKFILLS_PER_PAGE = 100


class DagsterWebserver:
    """GraphQL calls against one webserver (DAGSTER_WEBSERVER_URL); building one sends nothing."""

    def __init__(self, url: str = DEFAULT_WEBSERVER_URL, timeout: float = 30.0):
        self.url = url.rstrip("/")
        self._timeout = timeout
        self._clients: tuple[DagsterGraphQLClient, Client] | None = None
        # A transport holds one session at a time: calls on one instance take turns.
        self._lock = threading.Lock()

    def _connected(self) -> tuple[DagsterGraphQLClient, Client]:
        """Dagster's client and the gql one over one transport, built on the first call."""
        if self._clients is None:
            from dagster_graphql import DagsterGraphQLClient
            from gql import Client
            from gql.transport.requests import RequestsHTTPTransport

            parts = urlsplit(self.url)
            transport = RequestsHTTPTransport(url=f"{self.url}/graphql", timeout=self._timeout)
            # The client names the server by these in its messages; the transport posts to the
            # URL.
            client = DagsterGraphQLClient(
                parts.hostname or self.url,
                port_number=parts.port,
                transport=transport,
                use_https=parts.scheme == "https",
                path_prefix=parts.path if parts.path.startswith("/") else "",
            )
            self._clients = (client, Client(transport=transport))
        return self._clients

    @property
    def _client(self) -> DagsterGraphQLClient:
        return self._connected()[0]

    @property
    def _gql(self) -> Client:
        return self._connected()[1]

    def _call(self, call: Callable[[], T]) -> T:
        from dagster_graphql import DagsterGraphQLClientError
        from gql.transport.exceptions import TransportError

        with self._lock:
            try:
                return call()
            except (DagsterGraphQLClientError, TransportError) as error:
                raise failure(self.url, error) from error

    def _execute(
        self, document: GraphQLRequest, field: str, expected: str, **variables: Any
    ) -> dict[str, Any]:
        from dagster_graphql import DagsterGraphQLClientError
        from gql import GraphQLRequest

        def call() -> dict[str, Any]:
            request = GraphQLRequest(document, variable_values=variables)
            result = self._gql.execute(request)[field]
            if result["__typename"] == "PythonError" and "stack" in result:
                # The server's own traceback, which its one-line message leaves out.
                logger.warning("%s failed on the server:\n%s", field, server_traceback(result))
            if result["__typename"] != expected:
                # The refusal DagsterGraphQLClient raises for its own documents.
                raise DagsterGraphQLClientError(
                    result["__typename"], result.get("message", str(result))
                )
            return result

        return self._call(call)

    def ping(self) -> None:
        self._call(lambda: self._gql.execute(_documents().PING))

    def location_loaded(self, name: str = LOCATION) -> bool:
        """Whether the code location has loaded; DagsterApiError with its error if it failed to.

        A location that failed to load still reads LOADED, with no assets: launches then answer
        KeyError for every asset key.
        """
        workspace = self._execute(_documents().LOCATIONS, "workspaceOrError", "Workspace")
        for entry in workspace["locationEntries"]:
            loaded = entry["locationOrLoadError"]
            if entry["name"] != name or entry["loadStatus"] != "LOADED" or loaded is None:
                continue
            if loaded["__typename"] == "PythonError":
                raise DagsterApiError(f"code location {name} failed to load: {loaded['message']}")
            return True
        return False

    def answers(self) -> bool:
        """Whether anything answers at the URL (for waiting on a webserver to start)."""
        try:
            self.ping()
        except WebserverUnavailable:
            return False
        return True

    def launch_backfill(
        self,
        ranges: Sequence[PartitionRange],
        tags: Mapping[str, str],
        title: str,
        description: str,
    ) -> str:
        by_asset: dict[tuple[str, ...], list[dict[str, str]]] = {}
        for r in ranges:
            by_asset.setdefault(tuple(r.asset), []).append({"start": r.start, "end": r.end})
        params = {
            "partitionsByAssets": [
                {"assetKey": {"path": list(asset)}, "partitions": {"ranges": spans}}
                for asset, spans in by_asset.items()
            ],
            "tags": [{"key": k, "value": v} for k, v in sorted(tags.items())],
            "title": title,
            "description": description,
        }
        result = self._execute(
            _documents().LAUNCH, "launchPartitionBackfill", "LaunchBackfillSuccess", params=params
        )
        return result["backfillId"]

    def backfill(self, backfill_id: str) -> BackfillState:
        result = self._execute(
            _documents().BACKFILL, "partitionBackfillOrError", "PartitionBackfill", id=backfill_id
        )
        return backfill_state(result)

    def backfills_since(self, created_after: float) -> list[BackfillSummary]:
        """Every backfill created after the POSIX timestamp, newest first, page by page."""
        found: list[BackfillSummary] = []
        cursor = None
        while True:
            page = self._execute(
                _documents().BACKFILLS,
                "partitionBackfillsOrError",
                "PartitionBackfills",
                filters={"createdAfter": created_after},
                cursor=cursor,
                limit=BACKFILLS_PER_PAGE,
            )["results"]
            found.extend(
                BackfillSummary(
                    backfill_id=b["id"],
                    status=b["status"],
                    created=b["timestamp"],
                    tags=tags_of(b["tags"]),
                )
                for b in page
            )
            if len(page) < BACKFILLS_PER_PAGE:
                return found
            cursor = page[-1]["id"]

    def cancel_backfill(self, backfill_id: str) -> None:
        self._execute(
            _documents().CANCEL, "cancelPartitionBackfill", "CancelBackfillSuccess", id=backfill_id
        )

    def terminate_run(self, run_id: str) -> None:
        self._call(lambda: self._client.terminate_run(run_id))

    def launch_run(
        self,
        job_name: str,
        tags: Mapping[str, str],
        location: str = LOCATION,
        repository: str = "__repository__",
    ) -> str:
        return self._call(
            lambda: self._client.submit_job_execution(
                job_name, location, repository, tags=dict(tags)
            )
        )

    def _materializations(
        self, asset_path: Sequence[str], partitions: Sequence[str]
    ) -> list[dict[str, Any]]:
        """The asset's materializations of `partitions`, as the UI's GraphQL API gives them."""
        found = self._execute(
            _documents().LATEST_MATERIALIZATIONS,
            "assetOrError",
            "Asset",
            assetKey={"path": list(asset_path)},
            partitions=list(partitions),
        )
        return found["assetMaterializations"]

    def latest_materializations(
        self, asset_path: Sequence[str], partitions: Sequence[str]
    ) -> dict[str, dict[str, Any]]:
        """Per partition, its latest materialization as the UI shows it: run, description,
        row count."""
        latest: dict[str, dict[str, Any]] = {}
        events = self._materializations(asset_path, partitions)
        for event in sorted(events, key=lambda e: float(e["timestamp"])):
            rows = {m["label"]: m.get("intValue") for m in event["metadataEntries"]}
            latest[event["partition"]] = {
                "run_id": event["runId"],
                "description": event["description"],
                "row_count": rows.get("dagster/row_count"),
            }
        return latest

    def materializing_runs(
        self, asset_path: Sequence[str], partitions: Sequence[str]
    ) -> dict[str, set[str]]:
        """Per partition, every run that materialized it (a run-less report is the empty id)."""
        runs: dict[str, set[str]] = {}
        for event in self._materializations(asset_path, partitions):
            runs.setdefault(event["partition"], set()).add(event["runId"])
        return runs

    def run(self, run_id: str) -> RunSummary:
        # Status first, then the rest: a run's times fill in only as its status moves on, so a
        # finished status always comes with its end time (the other order could miss it).
        status = self._call(lambda: self._client.get_run_status(run_id))
        details = self._execute(_documents().RUN_DETAILS, "runOrError", "Run", id=run_id)
        return run_summary({**details, "status": status.value})
