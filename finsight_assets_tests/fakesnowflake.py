"""Snowflake for the tests: fakesnow in-process, with an external stage over a local lake.

fakesnow runs Snowflake SQL by translating it to DuckDB. Three gaps are filled here, and only here:
- its cursor has no `fetch_arrow_batches` (the real connector's Arrow API): it is added from
  fakesnow's own Arrow result;
- it wraps every SUM/AVG argument in `TRY_CAST(... AS DOUBLE)` (to mimic Snowflake's implicit
  cast of text), which turns exact NUMBER sums into floats; Snowflake sums NUMBER(p, s) exactly,
  so SUM and AVG of anything but a literal are left as written (this project sums no text);
- its stages cannot reach S3 from this machine (DuckDB's httpfs is not installed): the stage's
  URL is the local lake folder (file://), so COPY INTO reads the very files Spark staged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import fakesnow
import fakesnow.transforms
import pyarrow as pa
import pytest
import snowflake.connector
from fakesnow.cursor import FakeSnowflakeCursor
from sqlglot import exp

from finsight_assets.lib.engines.snowflake_warehouse import (
    CONNECTION_ARGUMENTS,
    SESSION_PARAMETERS,
    SnowflakeWarehouse,
)
from finsight_assets.lib.wap.layout import ensure_schema

DATABASE = "FINSIGHT"
STAGE = "FINSIGHT.STAGING.LAKE"


def _fetch_arrow_batches(self: FakeSnowflakeCursor) -> Iterator[pa.Table]:
    if self._arrow_table is not None:
        yield self._arrow_table


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
    lake_root: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[], AbstractContextManager[SnowflakeWarehouse]]]:
    """Connections to one in-process fake Snowflake account whose stage reads `lake_root`."""
    monkeypatch.setattr(
        FakeSnowflakeCursor, "fetch_arrow_batches", _fetch_arrow_batches, raising=False
    )
    monkeypatch.setattr(
        fakesnow.transforms, "numeric_agg_implicit_cast", _numeric_agg_cast_for_text_only
    )
    with fakesnow.patch():
        setup = snowflake.connector.connect(**connect_args())
        setup.cursor().execute("CREATE SCHEMA IF NOT EXISTS FINSIGHT.STAGING")
        setup.cursor().execute(f"CREATE STAGE IF NOT EXISTS {STAGE} URL = 'file://{lake_root}/'")

        @contextmanager
        def connect() -> Iterator[SnowflakeWarehouse]:
            connection = snowflake.connector.connect(**connect_args())
            try:
                warehouse = SnowflakeWarehouse(connection, STAGE, str(lake_root))
                ensure_schema(warehouse)
                yield warehouse
            finally:
                connection.close()

        yield connect
