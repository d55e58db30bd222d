"""What a call to the Dagster webserver fails with: its errors, made from what the clients raise."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit


def shown_url(url: str) -> str:
    """The URL without any user name or password in it: what errors and logs may print."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return parts._replace(netloc=netloc).geturl()


class WebserverUnavailable(RuntimeError):
    def __init__(self, url: str, cause: Exception):
        super().__init__(
            f"no Dagster webserver answers at {shown_url(url)} ({cause.__class__.__name__}). "
            "Start the webserver and daemon with `make dev` (or set DAGSTER_WEBSERVER_URL)."
        )


class DagsterApiError(RuntimeError):
    """The webserver answered, but refused or failed the request."""


def failure(url: str, error: Exception) -> Exception:
    """What either client raised, as WebserverUnavailable or DagsterApiError."""
    from gql.transport.exceptions import (
        TransportConnectionFailed,
        TransportError,
        TransportQueryError,
        TransportServerError,
    )

    # DagsterGraphQLClient raises a transport's error as the __cause__ of its own; gql, bare.
    cause: BaseException | None = error
    while cause is not None and not isinstance(cause, TransportError):
        cause = cause.__cause__
    if isinstance(cause, TransportConnectionFailed):
        underlying = cause.__cause__  # what requests raised: ConnectionError, ReadTimeout...
        return WebserverUnavailable(url, underlying if isinstance(underlying, Exception) else cause)
    if isinstance(cause, TransportQueryError):
        messages = [e.get("message", "?") for e in cause.errors or []]
        return DagsterApiError("; ".join(messages) or str(cause))
    if isinstance(cause, TransportServerError):
        return DagsterApiError(f"{shown_url(url)} answered HTTP {cause.code}")
    if cause is not None:  # a TransportProtocolError
        return DagsterApiError(f"{shown_url(url)} answered, but not in GraphQL: {cause}")
    # A refusal in the result: DagsterGraphQLClientError(typename, message[, body]).
    details = [*error.args, *([error.body] if getattr(error, "body", None) else [])]
    return DagsterApiError(": ".join(str(d) for d in details))


def server_traceback(error: Mapping[str, Any]) -> str:
    """A PythonError answer's message and stack, then its cause's."""
    cause = error.get("cause")
    text = error["message"] + "".join(error.get("stack") or [])
    return text + (f"\nCaused by: {server_traceback(cause)}" if cause else "")
