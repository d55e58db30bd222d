"""Exact types from Snowflake, through the connector's own result conversion.

fakesnow hands back DuckDB's Arrow, which already has the contract's types; a real account sends
result chunks in Snowflake's wire format (NUMBER as scaled integers with logicalType FIXED,
DATE as int32 days, TIMESTAMP_TZ as an epoch/fraction/timezone struct), which the installed
connector converts itself. These tests build such a chunk, let the connector convert it, and
hand it to `SnowflakeWarehouse` as its cursor would.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

import pyarrow as pa
import pytest
from snowflake.connector.arrow_context import ArrowConverterContext
from snowflake.connector.constants import FIELD_NAME_TO_ID
from snowflake.connector.cursor import ResultMetadataV2
from snowflake.connector.result_batch import ArrowResultBatch

from finsight_assets.lib.contract.tables import arrow_schema
from finsight_assets.lib.engines.arrow_types import InexactFetch
from finsight_assets.lib.engines.snowflake_warehouse import (
    CONNECTION_ARGUMENTS,
    SESSION_PARAMETERS,
    SnowflakeWarehouse,
)
from finsight_assets.lib.tables.gold_daily_customer_summary import GOLD_DAILY_CUSTOMER_SUMMARY
from finsight_assets.lib.tables.silver_transactions import SILVER_TRANSACTIONS

TS = pa.struct([("epoch", pa.int64()), ("fraction", pa.int32()), ("timezone", pa.int32())])
# Wire type and Snowflake metadata of each column kind of the contract.
WIRE = {
    "DATE": (pa.int32(), "DATE", {}),
    "VARCHAR": (pa.string(), "TEXT", {}),
    "DECIMAL(18,2)": (pa.int64(), "FIXED", {"precision": 18, "scale": 2}),
    "DECIMAL(18,8)": (pa.int64(), "FIXED", {"precision": 18, "scale": 8}),
    "BIGINT": (pa.int8(), "FIXED", {"precision": 38, "scale": 0}),
    "TIMESTAMP WITH TIME ZONE": (TS, "TIMESTAMP_TZ", {"scale": 9}),
}
UTC_OFFSET = 1440  # Snowflake's timezone field: minutes + 1440


@dataclass(frozen=True)
class Result:
    table: pa.Table
    description: list


def wire_value(sql_type: str, value):
    if sql_type == "DATE":
        return (value - date(1970, 1, 1)).days
    if sql_type.startswith("DECIMAL"):
        return int(value.scaleb(WIRE[sql_type][2]["scale"]))
    if sql_type.startswith("TIMESTAMP"):
        seconds = int(value.timestamp())
        return {"epoch": seconds, "fraction": value.microsecond * 1000, "timezone": UTC_OFFSET}
    return value


def connector_chunk(columns, rows, number_to_decimal: bool) -> Result:
    """`rows` as a Snowflake result chunk, converted by the installed connector, with the
    description its cursor gives."""
    fields, metadata = [], []
    for column in columns:
        arrow, logical, extra = WIRE[column.sql_type]
        name = column.name.upper()
        fields.append(
            pa.field(
                name,
                arrow,
                metadata={"logicalType": logical, **{k: str(v) for k, v in extra.items()}},
            )
        )
        metadata.append(ResultMetadataV2(name, FIELD_NAME_TO_ID[logical], True, **extra))
    schema = pa.schema(fields)
    arrays = [
        pa.array([wire_value(c.sql_type, row[i]) for row in rows], type=f.type)
        for i, (c, f) in enumerate(zip(columns, fields, strict=True))
    ]
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, schema) as writer:
        writer.write_batch(pa.record_batch(arrays, schema=schema))
    chunk = ArrowResultBatch.from_data(
        base64.b64encode(sink.getvalue()).decode(),
        len(rows),
        ArrowConverterContext(dict(SESSION_PARAMETERS)),
        False,
        False,
        metadata,
        number_to_decimal,
    )
    return Result(chunk.to_arrow(), [m._to_result_metadata_v1() for m in metadata])


class ConnectorCursor:
    """A cursor whose results are the connector's own conversion of one chunk."""

    def __init__(self, result: Result):
        self.table = result.table
        self.description = result.description

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def execute(self, sql: str, params=None) -> None:
        self.sql = sql

    def fetch_arrow_batches(self):
        yield self.table


class ConnectorConnection:
    def __init__(self, result: Result):
        self.result = result

    def cursor(self) -> ConnectorCursor:
        return ConnectorCursor(self.result)


def warehouse_over(result: Result) -> SnowflakeWarehouse:
    return SnowflakeWarehouse(ConnectorConnection(result), "FINSIGHT.STAGING.LAKE", "s3://b/p")


MOMENT = datetime(2025, 3, 3, 14, 5, 6, 123456, tzinfo=UTC)
SUMMARY_ROWS = [
    (
        date(2025, 3, 3),
        "C1",
        3,
        Decimal("10.25"),
        Decimal("0.00"),
        Decimal("1234567890123456.78"),
        Decimal("0.00"),
        Decimal("0.05"),
        Decimal("1234567890123446.48"),
    ),
    (
        date(2025, 3, 3),
        "C2",
        1,
        Decimal("0.10"),
        Decimal("0.00"),
        Decimal("0.00"),
        Decimal("0.00"),
        Decimal("0.00"),
        Decimal("-0.10"),
    ),
]


def test_the_connector_alone_turns_money_into_floats():
    table = connector_chunk(GOLD_DAILY_CUSTOMER_SUMMARY.columns, SUMMARY_ROWS, False).table
    assert pa.types.is_floating(table.schema.field("NET_FLOW_USD").type)
    assert table.schema.field("TXN_COUNT").type == pa.int8()
    assert table.schema.field("BUSINESS_DATE").type == pa.int32()


def test_fetches_have_the_contracts_exact_types_and_values():
    columns = SILVER_TRANSACTIONS.columns
    row = (
        date(2025, 3, 3),
        "E1",
        "T1",
        "A1",
        "C1",
        "PURCHASE",
        None,
        "EUR",
        Decimal("12.34"),
        Decimal("1.08512345"),
        Decimal("13.39"),
        Decimal("-13.39"),
        MOMENT,
        MOMENT,
    )
    table = connector_chunk(columns, [row], CONNECTION_ARGUMENTS["arrow_number_to_decimal"])
    names = ", ".join(SILVER_TRANSACTIONS.business_columns)
    (batch,) = warehouse_over(table).fetch_arrow_batches(f"SELECT {names} FROM x", 1000)
    assert [(f.name, f.type) for f in batch.schema] == [
        (f.name, f.type) for f in arrow_schema(columns)
    ]
    assert batch.to_pylist()[0] == dict(zip(SILVER_TRANSACTIONS.business_columns, row, strict=True))


def test_the_partner_csv_writes_money_as_exact_text(tmp_path):
    columns = GOLD_DAILY_CUSTOMER_SUMMARY.columns
    table = connector_chunk(columns, SUMMARY_ROWS, CONNECTION_ARGUMENTS["arrow_number_to_decimal"])
    path = tmp_path / "export.csv"
    warehouse_over(table).export_csv("SELECT * FROM gold.daily_customer_summary", str(path))
    lines = path.read_text().splitlines()
    assert lines[0].replace('"', "") == ",".join(GOLD_DAILY_CUSTOMER_SUMMARY.business_columns)
    assert lines[1].replace('"', "").split(",") == [
        "2025-03-03",
        "C1",
        "3",
        "10.25",
        "0.00",
        "1234567890123456.78",
        "0.00",
        "0.05",
        "1234567890123446.48",
    ]
    assert lines[2].replace('"', "").split(",")[-1] == "-0.10"


def test_a_float_result_is_refused_not_rounded():
    table = connector_chunk(GOLD_DAILY_CUSTOMER_SUMMARY.columns, SUMMARY_ROWS, False)
    with pytest.raises(InexactFetch, match="purchase_usd arrived as double"):
        list(warehouse_over(table).fetch_arrow_batches("SELECT * FROM x", 1000))
