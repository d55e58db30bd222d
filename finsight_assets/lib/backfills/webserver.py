"""A small client for the Dagster webserver's GraphQL API: the calls the backfill CLI makes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import requests

DEFAULT_URL = "http://127.0.0.1:3000"


class WebserverUnavailable(RuntimeError):
    def __init__(self, url: str, cause: Exception):
        super().__init__(
            f"no Dagster webserver answers at {url} ({cause.__class__.__name__}). Start the "
            "webserver and daemon with `make dev` (or set DAGSTER_WEBSERVER_URL)."
        )


class DagsterApiError(RuntimeError):
    """The webserver answered, but refused or failed the request."""


@dataclass(frozen=True)
class PartitionRange:
    asset: Sequence[str]
    start: str
    end: str


@dataclass(frozen=True)
class AssetProgress:
    asset: str
    targeted: int
    in_progress: int
    materialized: int
    failed: int


# A run in one of these has stopped for good.
FINISHED_RUN_STATUSES = frozenset({"SUCCESS", "FAILURE", "CANCELED"})


@dataclass(frozen=True)
class RunSummary:
    run_id: str
    status: str
    start_time: float | None
    end_time: float | None
    tags: Mapping[str, str]


@dataclass(frozen=True)
class BackfillState:
    backfill_id: str
    status: str
    assets: list[AssetProgress]
    runs: list[RunSummary]
    tags: Mapping[str, str]


_LAUNCH = """
mutation Launch($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message }
    ... on InvalidSubsetError { message }
    ... on UnauthorizedError { message }
    ... on PartitionSetNotFoundError { message }
    ... on InvalidStepError { invalidStepKey }
    ... on InvalidOutputError { invalidOutputName }
  }
}
"""

_RUN_FIELDS = "runId status startTime endTime tags { key value }"

_BACKFILL = f"""
query Backfill($id: String!) {{
  partitionBackfillOrError(backfillId: $id) {{
    __typename
    ... on PartitionBackfill {{
      id status
      tags {{ key value }}
      assetBackfillData {{
        assetBackfillStatuses {{
          __typename
          ... on AssetPartitionsStatusCounts {{
            assetKey {{ path }}
            numPartitionsTargeted numPartitionsInProgress numPartitionsMaterialized
            numPartitionsFailed
          }}
        }}
      }}
      runs {{ {_RUN_FIELDS} }}
    }}
    ... on BackfillNotFoundError {{ message }}
    ... on PythonError {{ message }}
  }}
}}
"""

_CANCEL = """
mutation Cancel($id: String!) {
  cancelPartitionBackfill(backfillId: $id) {
    __typename
    ... on PythonError { message }
    ... on UnauthorizedError { message }
  }
}
"""

_TERMINATE_RUN = """
mutation Terminate($id: String!) {
  terminateRun(runId: $id) {
    __typename
    ... on TerminateRunFailure { message }
    ... on RunNotFoundError { message }
    ... on PythonError { message }
    ... on UnauthorizedError { message }
  }
}
"""

_LAUNCH_RUN = """
mutation LaunchRun($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId status } }
    ... on PythonError { message }
    ... on RunConfigValidationInvalid { errors { message } }
    ... on InvalidSubsetError { message }
    ... on PipelineNotFoundError { message }
    ... on RunConflict { message }
    ... on UnauthorizedError { message }
    ... on PresetNotFoundError { message }
    ... on ConflictingExecutionParamsError { message }
    ... on NoModeProvidedError { message }
  }
}
"""

_RUN = f"""
query Run($id: ID!) {{
  runOrError(runId: $id) {{
    __typename
    ... on Run {{ {_RUN_FIELDS} }}
    ... on RunNotFoundError {{ message }}
    ... on PythonError {{ message }}
  }}
}}
"""


def _tags(tags: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"key": k, "value": v} for k, v in sorted(tags.items())]


def _run(data: Mapping[str, Any]) -> RunSummary:
    return RunSummary(
        run_id=data["runId"],
        status=data["status"],
        start_time=data.get("startTime"),
        end_time=data.get("endTime"),
        tags={t["key"]: t["value"] for t in data.get("tags", [])},
    )


class DagsterWebserver:
    """GraphQL calls against one webserver (DAGSTER_WEBSERVER_URL)."""

    def __init__(self, url: str = DEFAULT_URL, timeout: float = 30.0):
        self.url = url.rstrip("/")
        self.timeout = timeout

    def _call(self, query: str, variables: Mapping[str, Any]) -> dict[str, Any]:
        try:
            response = requests.post(
                f"{self.url}/graphql",
                json={"query": query, "variables": dict(variables)},
                timeout=self.timeout,
            )
        except requests.ConnectionError as error:
            raise WebserverUnavailable(self.url, error) from error
        except requests.Timeout as error:
            raise WebserverUnavailable(self.url, error) from error
        if response.status_code != 200:
            raise DagsterApiError(f"{self.url} answered HTTP {response.status_code}")
        body = response.json()
        if body.get("errors"):
            raise DagsterApiError("; ".join(e.get("message", "?") for e in body["errors"]))
        return body["data"]

    def ping(self) -> None:
        self._call("query { version }", {})

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
            "tags": _tags(tags),
            "title": title,
            "description": description,
        }
        result = self._call(_LAUNCH, {"params": params})["launchPartitionBackfill"]
        if result["__typename"] != "LaunchBackfillSuccess":
            raise DagsterApiError(f"backfill refused: {result}")
        return result["backfillId"]

    def backfill(self, backfill_id: str) -> BackfillState:
        result = self._call(_BACKFILL, {"id": backfill_id})["partitionBackfillOrError"]
        if result["__typename"] != "PartitionBackfill":
            raise DagsterApiError(result.get("message", str(result)))
        statuses = (result.get("assetBackfillData") or {}).get("assetBackfillStatuses", [])
        return BackfillState(
            backfill_id=result["id"],
            status=result["status"],
            assets=[
                AssetProgress(
                    asset=".".join(s["assetKey"]["path"]),
                    targeted=s["numPartitionsTargeted"],
                    in_progress=s["numPartitionsInProgress"],
                    materialized=s["numPartitionsMaterialized"],
                    failed=s["numPartitionsFailed"],
                )
                for s in statuses
                if s["__typename"] == "AssetPartitionsStatusCounts"
            ],
            runs=[_run(r) for r in result.get("runs") or []],
            tags={t["key"]: t["value"] for t in result.get("tags", [])},
        )

    def cancel_backfill(self, backfill_id: str) -> None:
        result = self._call(_CANCEL, {"id": backfill_id})["cancelPartitionBackfill"]
        if result["__typename"] != "CancelBackfillSuccess":
            raise DagsterApiError(f"cancel refused: {result}")

    def terminate_run(self, run_id: str) -> None:
        result = self._call(_TERMINATE_RUN, {"id": run_id})["terminateRun"]
        if result["__typename"] != "TerminateRunSuccess":
            raise DagsterApiError(f"terminate refused: {result}")

    def launch_run(
        self,
        job_name: str,
        tags: Mapping[str, str],
        location: str = "finsight",
        repository: str = "__repository__",
    ) -> str:
        params = {
            "selector": {
                "repositoryLocationName": location,
                "repositoryName": repository,
                "jobName": job_name,
            },
            "executionMetadata": {"tags": _tags(tags)},
        }
        result = self._call(_LAUNCH_RUN, {"params": params})["launchRun"]
        if result["__typename"] != "LaunchRunSuccess":
            raise DagsterApiError(f"run refused: {result}")
        return result["run"]["runId"]

    def run(self, run_id: str) -> RunSummary:
        result = self._call(_RUN, {"id": run_id})["runOrError"]
        if result["__typename"] != "Run":
            raise DagsterApiError(result.get("message", str(result)))
        return _run(result)
