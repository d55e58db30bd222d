"""An independent, plain-Python reading of docs/contract.md, to compare the pipeline's tables against.

Row by row with Decimal on purpose: slow, obvious, and sharing no code with the pipeline.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pyarrow.parquet as pq

NEW_YORK = ZoneInfo("America/New_York")
EVENT_TYPES = {"PURCHASE", "REFUND", "DEPOSIT", "WITHDRAWAL", "FEE"}
REQUIRED = (
    "event_id",
    "transaction_id",
    "account_id",
    "customer_id",
    "event_type",
    "amount",
    "currency",
    "event_ts",
)
RAW_COLUMNS = {
    "transactions": [
        "event_id",
        "transaction_id",
        "account_id",
        "customer_id",
        "event_type",
        "amount",
        "currency",
        "merchant_category",
        "event_ts",
        "ingested_at",
    ],
    "fx_rates": ["currency", "usd_rate"],
    "customers": [
        "customer_id",
        "full_name",
        "email",
        "country",
        "segment",
        "kyc_status",
        "created_at",
        "updated_at",
    ],
}


def read_rows(lake: Path, table: str, d: date) -> list[dict]:
    folder = lake / "raw" / table / f"business_date={d.isoformat()}"
    rows: list[dict] = []
    if folder.is_dir():
        for path in sorted(folder.glob("*.parquet")):
            rows.extend(pq.read_table(path, columns=RAW_COLUMNS[table]).to_pylist())
    return rows


def _ingested(row: dict) -> datetime:
    return row["ingested_at"] or datetime.min.replace(tzinfo=UTC)


def _reason(row: dict, d: date, rates: dict[str, Decimal]) -> str | None:
    if any(row[name] is None for name in REQUIRED):
        return "MISSING_FIELD"
    if row["event_type"] not in EVENT_TYPES:
        return "UNKNOWN_EVENT_TYPE"
    if row["amount"] <= 0:
        return "NON_POSITIVE_AMOUNT"
    if row["event_ts"].astimezone(NEW_YORK).date() != d:
        return "WRONG_BUSINESS_DATE"
    if row["currency"] != "USD" and row["currency"] not in rates:
        return "UNKNOWN_CURRENCY"
    return None


def expected(lake: Path, dates: list[date], first_date: date) -> dict[str, list[tuple]]:
    """Every table's business columns, as sorted lists of tuples."""
    tables: dict[str, list[tuple]] = defaultdict(list)
    balances: dict[str, tuple[str, Decimal]] = {}
    day = first_date
    while day <= max(dates):
        raw = read_rows(lake, "transactions", day)
        rates = {
            r["currency"]: r["usd_rate"]
            for r in read_rows(lake, "fx_rates", day)
            if r["currency"] is not None and r["usd_rate"] is not None and r["usd_rate"] > 0
        }
        kept: dict[str, dict] = {}
        nameless = []
        for row in raw:
            if row["event_id"] is None:
                nameless.append(row)
                continue
            best = kept.get(row["event_id"])
            if best is None or _ingested(row) > _ingested(best):
                kept[row["event_id"]] = row
        valid = []
        for row in [*kept.values(), *nameless]:
            reason = _reason(row, day, rates)
            if reason is not None:
                tables["silver.transactions_rejected"].append(
                    (day, *(row[c] for c in RAW_COLUMNS["transactions"]), reason)
                )
                continue
            rate = Decimal(1) if row["currency"] == "USD" else rates[row["currency"]]
            usd = (row["amount"] * rate).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
            signed = usd if row["event_type"] in ("DEPOSIT", "REFUND") else -usd
            valid.append({**row, "usd_rate": rate, "amount_usd": usd, "signed": signed})
            tables["silver.transactions"].append(
                (
                    day,
                    row["event_id"],
                    row["transaction_id"],
                    row["account_id"],
                    row["customer_id"],
                    row["event_type"],
                    row["merchant_category"],
                    row["currency"],
                    row["amount"],
                    rate,
                    usd,
                    signed,
                    row["event_ts"],
                    row["ingested_at"],
                )
            )
        snapshot: dict[str, dict] = {}
        for row in read_rows(lake, "customers", day):
            if row["customer_id"] is None:
                continue
            best = snapshot.get(row["customer_id"])
            if best is None or row["updated_at"] > best["updated_at"]:
                snapshot[row["customer_id"]] = row
        for c in snapshot.values():
            email = c["email"]
            digest = hashlib.sha256(email.strip().lower().encode()).hexdigest() if email else None
            tables["silver.customers"].append(
                (
                    day,
                    c["customer_id"],
                    c["country"],
                    c["segment"],
                    c["kyc_status"],
                    c["created_at"],
                    digest,
                )
            )
        by_customer: dict[str, list[dict]] = defaultdict(list)
        flows: dict[str, Decimal] = defaultdict(Decimal)
        segments: dict[tuple[str, str], list[dict]] = defaultdict(list)
        for row in valid:
            by_customer[row["customer_id"]].append(row)
            flows[row["account_id"]] += row["signed"]
            balances.setdefault(row["account_id"], (row["customer_id"], Decimal("0.00")))
            profile = snapshot.get(row["customer_id"])
            key = (
                (profile["segment"] or "UNKNOWN", profile["country"] or "ZZ")
                if profile
                else ("UNKNOWN", "ZZ")
            )
            segments[key].append(row)
        for customer, rows in by_customer.items():
            sums = {
                t: sum((r["amount_usd"] for r in rows if r["event_type"] == t), Decimal("0.00"))
                for t in ("PURCHASE", "REFUND", "DEPOSIT", "WITHDRAWAL", "FEE")
            }
            tables["gold.daily_customer_summary"].append(
                (
                    day,
                    customer,
                    len(rows),
                    sums["PURCHASE"],
                    sums["REFUND"],
                    sums["DEPOSIT"],
                    sums["WITHDRAWAL"],
                    sums["FEE"],
                    sum((r["signed"] for r in rows), Decimal("0.00")),
                )
            )
        for (segment, country), rows in segments.items():
            tables["gold.segment_daily_report"].append(
                (
                    day,
                    segment,
                    country,
                    len({r["customer_id"] for r in rows}),
                    len(rows),
                    sum((r["signed"] for r in rows), Decimal("0.00")),
                )
            )
        for account, (customer, closing) in list(balances.items()):
            net = flows.get(account, Decimal("0.00"))
            balances[account] = (customer, closing + net)
            tables["gold.account_daily_balance"].append(
                (day, account, customer, net + Decimal("0.00"), closing + net)
            )
        day += timedelta(days=1)
    wanted = set(dates)
    return {
        name: sorted((r for r in rows if r[0] in wanted), key=repr) for name, rows in tables.items()
    }
