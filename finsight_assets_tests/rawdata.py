"""Hand-made raw partitions for tests: a row is a dict, missing columns are null."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from finsight_assets.lib.contract.tables import RAW_SCHEMAS


def write_raw(
    lake: Path,
    table: str,
    business_date: date,
    rows: Sequence[Mapping[str, Any]],
    name: str = "part-0.parquet",
) -> Path:
    schema = RAW_SCHEMAS[table]
    columns = {field.name: [row.get(field.name) for row in rows] for field in schema}
    folder = lake / "raw" / table / f"business_date={business_date.isoformat()}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    pq.write_table(pa.table(columns, schema=schema), path)
    return path


def ts(text: str) -> datetime:
    """A UTC timestamp from 'YYYY-MM-DD HH:MM[:SS]'."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def txn(event_id: str, **overrides: Any) -> dict[str, Any]:
    """A valid raw transaction on 2025-03-03 (New York), overridable column by column."""
    row = {
        "event_id": event_id,
        "transaction_id": f"T-{event_id}",
        "account_id": "A1",
        "customer_id": "C1",
        "event_type": "PURCHASE",
        "amount": Decimal("10.00"),
        "currency": "USD",
        "merchant_category": "grocery",
        "event_ts": ts("2025-03-03 15:00"),
        "ingested_at": ts("2025-03-03 15:05"),
    }
    row.update(overrides)
    return row


def fx(**rates: str) -> list[dict[str, Any]]:
    return [{"currency": c, "usd_rate": Decimal(r)} for c, r in rates.items()]


def customer(customer_id: str, **overrides: Any) -> dict[str, Any]:
    row = {
        "customer_id": customer_id,
        "full_name": "Ada Lovelace",
        "email": " Ada@Example.COM ",
        "country": "US",
        "segment": "RETAIL",
        "kyc_status": "VERIFIED",
        "created_at": ts("2024-01-01 00:00"),
        "updated_at": ts("2024-06-01 00:00"),
    }
    row.update(overrides)
    return row
