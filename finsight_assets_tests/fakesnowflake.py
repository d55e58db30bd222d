"""Snowflake for the tests: fakesnow in-process, with an external stage over a local lake.

fakesnow runs Snowflake SQL by translating it to DuckDB. Five gaps are filled here, and only here:
- its cursor has no `fetch_arrow_batches` (the real connector's Arrow API): it is added from
  fakesnow's own Arrow result;
- it wraps every SUM/AVG argument in `TRY_CAST(... AS DOUBLE)` (to mimic Snowflake's implicit
  cast of text), which turns exact NUMBER sums into floats; Snowflake sums NUMBER(p, s) exactly,
  so SUM and AVG of anything but a literal are left as written (this project sums no text);
- its stages cannot reach S3 from this machine (DuckDB's httpfs is not installed): the stage's
  URL is the local lake folder (file://), so COPY INTO reads the very files Spark staged;
- it has no users: `CURRENT_USER()` answers DuckDB's "duckdb"; here it answers the user the
  connection was opened as, as Snowflake does;
- it does not wait for locks: DuckDB refuses a write to a row another open transaction changed.
  Here the statement waits as Snowflake's does, for at most the session's LOCK_TIMEOUT: the
  transaction is rolled back and, while the other one holds the row, tried again from its
  start; once the wait is out, Snowflake's lock error (000625, SQLSTATE 57014) is raised.
- it has no stored procedures: a `CALL` of one that `deploy/snowflake/setup.sql` creates runs
  that procedure's INSERT from the file itself, its `:ARGUMENT`s bound to the call's values and
  its `CURRENT_USER()` to the connection's user, and answers `CURRENT_USER()` as the procedure
  returns it (so what the tests exercise is the text an account runs).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import duckdb
import fakesnow
import fakesnow.transforms
import pyarrow as pa
import pytest
import snowflake.connector
from fakesnow.conn import FakeSnowflakeConnection
from fakesnow.cursor import FakeSnowflakeCursor
from sqlglot import exp

from finsight_assets.lib.engines.snowflake_warehouse import (
    CONNECTION_ARGUMENTS,
    SESSION_PARAMETERS,
    SESSION_USER_QUERY,
    SnowflakeWarehouse,
)
from finsight_assets.lib.settings import REPOSITORY_ROOT
from finsight_assets.lib.wap.layout import ensure_schema

DATABASE = "FINSIGHT"
STAGE = "FINSIGHT.STAGING.LAKE"


def _fetch_arrow_batches(self: FakeSnowflakeCursor) -> Iterator[pa.Table]:
    if self._arrow_table is not None:
        yield self._arrow_table


_FAKESNOW_EXECUTE = FakeSnowflakeCursor.execute


_FAKESNOW_CONNECTION_INIT = FakeSnowflakeConnection.__init__


# Snowflake's LOCK_TIMEOUT when a session does not set it: 12 hours.
SNOWFLAKE_DEFAULT_LOCK_TIMEOUT = 43200
# How often a statement waiting for a lock tries again.
LOCK_RETRY_SECONDS = 0.05
_WRITTEN_TABLE = re.compile(
    r"^\s*(?:UPDATE|DELETE\s+FROM|INSERT\s+INTO|MERGE\s+INTO)\s+([\w.]+)", re.I
)


def _connection_keeping_its_user(self: FakeSnowflakeConnection, *args, **kwargs) -> None:
    _FAKESNOW_CONNECTION_INIT(self, *args, **kwargs)
    self.finsight_user = kwargs.get("user")
    parameters = kwargs.get("session_parameters") or {}
    self.finsight_lock_timeout = float(
        parameters.get("LOCK_TIMEOUT", SNOWFLAKE_DEFAULT_LOCK_TIMEOUT)
    )
    # The statements of the open explicit transaction (None outside one), to try it again.
    self.finsight_transaction = None


SETUP_SQL = REPOSITORY_ROOT / "deploy" / "snowflake" / "setup.sql"
_PROCEDURE = re.compile(
    r"CREATE OR REPLACE PROCEDURE FINSIGHT\.(\w+\.\w+)\(([^)]*)\).*?\$\$(.*?)\$\$", re.DOTALL
)
_CALL = re.compile(r"^\s*CALL\s+(\w+\.\w+)\s*\((.*)\)\s*$", re.DOTALL | re.IGNORECASE)


def setup_procedures() -> dict[str, tuple[list[str], str]]:
    """The procedures setup.sql creates: by lower-case `schema.name`, their argument names and
    the one INSERT each runs."""
    procedures = {}
    for name, arguments, body in _PROCEDURE.findall(SETUP_SQL.read_text()):
        [insert] = re.findall(r"(INSERT INTO .*?);", body, re.DOTALL)
        names = [argument.split()[0].upper() for argument in arguments.split(",")]
        procedures[name.lower()] = (names, insert)
    return procedures


def _call(self: FakeSnowflakeCursor, user: str, name: str, values: list) -> object:
    arguments, insert = setup_procedures()[name.lower()]
    given = dict(zip(arguments, values, strict=True))
    bound: list = []

    def bind(found: re.Match) -> str:
        bound.append(user if found.group(1) is None else given[found.group(1).upper()])
        return "?"

    _FAKESNOW_EXECUTE(self, re.sub(r"CURRENT_USER\(\)|:(\w+)", bind, insert), bound)
    return _FAKESNOW_EXECUTE(self, 'SELECT ? AS "CURRENT_USER()"', [user])


def _execute_as_user(self: FakeSnowflakeCursor, command: str, *args, **kwargs):
    user = getattr(self._conn, "finsight_user", None) or "duckdb"
    if command.strip().upper() == SESSION_USER_QUERY:
        return _FAKESNOW_EXECUTE(self, 'SELECT ? AS "CURRENT_USER()"', [user])
    call = _CALL.match(command)
    if call:
        return _call(self, user, call.group(1), list(args[0] if args else []))
    return _FAKESNOW_EXECUTE(self, command, *args, **kwargs)


def _lock_timed_out(command: str, timeout: float) -> snowflake.connector.errors.ProgrammingError:
    written = _WRITTEN_TABLE.match(command)
    table = (written.group(1) if written else "?").rsplit(".", 1)[-1].upper()
    return snowflake.connector.errors.ProgrammingError(
        msg=f"Statement has locked table '{table}' in another transaction and this lock has not "
        f"yet been released. Your statement was aborted after waiting {timeout:.0f} seconds "
        "(LOCK_TIMEOUT).",
        errno=625,
        sqlstate="57014",
    )


def _execute_waiting_for_locks(self: FakeSnowflakeCursor, command: str, *args, **kwargs):
    conn = self._conn
    word = command.strip().split(None, 1)[0].upper() if command.strip() else ""
    if word in ("COMMIT", "ROLLBACK"):
        conn.finsight_transaction = None
    started = time.monotonic()
    retry = False
    while True:
        try:
            if retry and conn.finsight_transaction is not None:
                _FAKESNOW_EXECUTE(self, "BEGIN TRANSACTION")
                for earlier in conn.finsight_transaction:
                    _execute_as_user(self, *earlier[0], **earlier[1])
            result = _execute_as_user(self, command, *args, **kwargs)
            break
        except duckdb.TransactionException as error:
            if "conflict" not in str(error).lower():
                raise
            _FAKESNOW_EXECUTE(self, "ROLLBACK")
            if time.monotonic() - started >= conn.finsight_lock_timeout:
                conn.finsight_transaction = None
                raise _lock_timed_out(command, conn.finsight_lock_timeout) from error
            time.sleep(LOCK_RETRY_SECONDS)
            retry = True
    if word == "BEGIN":
        conn.finsight_transaction = []
    elif conn.finsight_transaction is not None and word not in ("COMMIT", "ROLLBACK"):
        conn.finsight_transaction.append(((command, *args), kwargs))
    return result


_FAKESNOW_NUMERIC_AGG_CAST = fakesnow.transforms.numeric_agg_implicit_cast


def _numeric_agg_cast_for_text_only(expression: exp.Expr) -> exp.Expr:
    if isinstance(expression, (exp.Sum, exp.Avg)) and not isinstance(expression.this, exp.Literal):
        return expression
    return _FAKESNOW_NUMERIC_AGG_CAST(expression)


def connect_args() -> dict:
    return {
        "database": DATABASE,
        "schema": "PUBLIC",
        "session_parameters": SESSION_PARAMETERS,
        **CONNECTION_ARGUMENTS,
    }


@contextmanager
def fake_snowflake(
    lake_root: Path,
    monkeypatch: pytest.MonkeyPatch,
    db_path: Path | None = None,
    user: str = "finsight_test",
) -> Iterator[Callable[[], AbstractContextManager[SnowflakeWarehouse]]]:
    """Connections, as `user`, to one fake Snowflake account whose stage reads `lake_root`:
    in-process, or kept under `db_path` where several processes take turns on it."""
    monkeypatch.setattr(
        FakeSnowflakeCursor, "fetch_arrow_batches", _fetch_arrow_batches, raising=False
    )
    monkeypatch.setattr(FakeSnowflakeCursor, "execute", _execute_waiting_for_locks)
    monkeypatch.setattr(FakeSnowflakeConnection, "__init__", _connection_keeping_its_user)
    monkeypatch.setattr(
        fakesnow.transforms, "numeric_agg_implicit_cast", _numeric_agg_cast_for_text_only
    )
    with fakesnow.patch(db_path=db_path):
        setup = snowflake.connector.connect(**connect_args())
        setup.cursor().execute("CREATE SCHEMA IF NOT EXISTS FINSIGHT.STAGING")
        setup.cursor().execute(f"CREATE STAGE IF NOT EXISTS {STAGE} URL = 'file://{lake_root}/'")

        @contextmanager
        def connect() -> Iterator[SnowflakeWarehouse]:
            connection = snowflake.connector.connect(user=user, **connect_args())
            try:
                warehouse = SnowflakeWarehouse(connection, STAGE, str(lake_root))
                ensure_schema(warehouse)
                yield warehouse
            finally:
                connection.close()

        yield connect


@contextmanager
def recorded_connections() -> Iterator[list[dict]]:
    """Inside `fake_snowflake`: the arguments of every connection opened until the block ends
    (undone before fakesnow unpatches the connector, so the real one comes back)."""
    opened: list[dict] = []
    fake_connect = snowflake.connector.connect

    def recording_connect(**kwargs):
        opened.append(kwargs)
        return fake_connect(**kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(snowflake.connector, "connect", recording_connect)
        yield opened
