"""The silver transforms as one SQL definition, in the subset DuckDB and Spark SQL share.

Each transform reads two relations its engine provides and returns every raw row once with its
`outcome` (docs/contract.md), so the warehouse can split the rows into their tables and prove
that none was lost:
- `raw_rows`: a source's raw rows, the contract's columns plus `business_date` (of the folder
  the file lies in) and `source_file`;
- `usd_rates`: the day's USD rates (business_date, currency, listed_usd_rate DECIMAL(18,8)).

transactions: VALID, REJECTED (with reason_code) or DUPLICATE (an older delivery of an event);
customers: VALID, SUPERSEDED (an older row of a repeated customer) or MISSING_ID.

A row that makes its day uncomputable (docs/contract.md, "Bad raw input") carries its `problem`
(text that is not UTF-8, or an amount_usd beyond decimal(18,2)) and the raw file it came from
(`source_file`, NULL on every other row); its text is made valid, so its day can be reported.
The few functions the engines spell differently come from a `Dialect`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from finsight_assets.lib.contract import tables as contract
from finsight_assets.lib.layers.silver_job import DECLARED_TRANSFORMS, ROW_KEYS
from finsight_assets.lib.tables.declaration import DeclarationError

RAW_ROWS = "raw_rows"
USD_RATES = "usd_rates"

# What Python's str.strip() strips (docs/contract.md: emails are trimmed so): every character whose
# str.isspace() is true.
PYTHON_WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004"
    "\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
# The folder a raw file lies in names its business date.
BUSINESS_DATE_PATTERN = "business_date=([0-9]{4}-[0-9]{2}-[0-9]{2})"
# DECIMAL(18,2) * DECIMAL(18,8) is widened first: DuckDB refuses the product from amounts of 1e8,
# and at 19 digits both engines give the exact DECIMAL(37 or 38, 10) (Spark loses scale beyond).
WIDE_MONEY_SQL = "DECIMAL(19,2)"
CUSTOMER_TIE_BREAK = ("created_at", "country", "segment", "kyc_status", "email", "full_name")


@dataclass(frozen=True)
class Dialect:
    """The functions DuckDB and Spark SQL spell differently, as templates."""

    name: str
    # The New York date of a UTC instant `{ts}`.
    new_york_date: str
    # Whether text `{text}` is not valid UTF-8, and the text made valid (U+FFFD for bad bytes).
    not_utf8: str
    made_valid: str
    sha256_hex: str
    # `{text}` without the characters of `{chars}` (a literal) at either end.
    trimmed: str
    # What repeated keys `{key}` are found by: the key, or a 64-bit hash of it (cheaper to group
    # than text; a hash that repeats only marks its rows for the exact ranking by key).
    key_digest: str


DUCKDB = Dialect(
    name="duckdb",
    new_york_date=f"CAST(timezone('{contract.BUSINESS_TIME_ZONE}', {{ts}}) AS DATE)",
    # DuckDB's text is valid UTF-8 by construction: its Parquet reader refuses other text, and
    # the engine names those files itself (`duckdb_silver`).
    not_utf8="FALSE",
    made_valid="{text}",
    sha256_hex="sha256({text})",
    trimmed="trim({text}, {chars})",
    key_digest="{key}",
)
SPARK = Dialect(
    name="spark",
    new_york_date=f"to_date(from_utc_timestamp({{ts}}, '{contract.BUSINESS_TIME_ZONE}'))",
    not_utf8="NOT is_valid_utf8({text})",
    made_valid="make_valid_utf8({text})",
    sha256_hex="sha2({text}, 256)",
    trimmed="trim(BOTH {chars} FROM {text})",
    key_digest="xxhash64({key})",
)


def _list(values: Sequence[str]) -> str:
    return ", ".join(f"'{value}'" for value in values)


def text_columns(table: str) -> list[str]:
    """The contract's text columns of a raw table, in its order."""
    return [f.name for f in contract.RAW_SCHEMAS[table] if str(f.type) == "string"]


def _not_utf8_problem(dialect: Dialect, table: str) -> str:
    """The first text column of the row that is not valid UTF-8, as a problem (NULL: none)."""
    cases = " ".join(
        f"WHEN {dialect.not_utf8.format(text=name)} THEN 'text that is not UTF-8 in column {name}'"
        for name in text_columns(table)
    )
    return f"CASE {cases} END"


def _made_valid(dialect: Dialect, table: str, keep: Sequence[str]) -> str:
    """The text columns of `keep` made valid on rows with a problem; the other columns as are."""
    texts = set(text_columns(table))
    return ", ".join(
        f"CASE WHEN problem IS NULL THEN {name} ELSE {dialect.made_valid.format(text=name)} END "
        f"AS {name}"
        if name in texts
        else name
        for name in keep
    )


def repeated_keys_sql(transform: str, dialect: Dialect) -> str:
    """The (business_date, key digest) pairs of `raw_rows` whose digest repeats: the few keys
    the dedup ranks. An engine may compute them first and hand them back as a relation."""
    key = ROW_KEYS[transform]
    digest = dialect.key_digest.format(key=key)
    return (
        f"SELECT business_date AS repeated_date, {digest} AS repeated_digest "
        f"FROM {RAW_ROWS} WHERE {key} IS NOT NULL GROUP BY business_date, {digest} "
        "HAVING COUNT(*) > 1"
    )


def _ranked(
    dialect: Dialect, transform: str, order: Sequence[str], rank: str, repeated: str
) -> str:
    """`raw_rows` with each row's rank among the rows of its day and `key`, latest first; only
    keys whose digest repeats (the query `repeated`) are sorted (the rest are rank 1), and a row
    without a key is never a repeat."""
    key = ROW_KEYS[transform]
    on = (
        f"r.business_date = k.repeated_date AND r.{key} IS NOT NULL "
        f"AND {dialect.key_digest.format(key=f'r.{key}')} = k.repeated_digest"
    )
    return (
        f"repeated AS ({repeated}), "
        f"ranked AS (SELECT r.*, ROW_NUMBER() OVER (PARTITION BY r.business_date, r.{key} "
        f"ORDER BY {', '.join(order)}) AS {rank} "
        f"FROM {RAW_ROWS} AS r JOIN repeated AS k ON {on} "
        f"UNION ALL SELECT r.*, 1 AS {rank} FROM {RAW_ROWS} AS r "
        f"LEFT JOIN repeated AS k ON {on} WHERE k.repeated_digest IS NULL)"
    )


def _reason_code(dialect: Dialect) -> str:
    """The first rule of the contract a transaction breaks (NULL: none), in precedence order."""
    missing = " OR ".join(f"{name} IS NULL" for name in contract.REQUIRED_TRANSACTION_FIELDS)
    new_york_date = dialect.new_york_date.format(ts="event_ts")
    return (
        f"CASE WHEN {missing} THEN '{contract.MISSING_FIELD}' "
        f"WHEN event_type NOT IN ({_list(contract.EVENT_TYPES)}) "
        f"THEN '{contract.UNKNOWN_EVENT_TYPE}' "
        f"WHEN amount <= 0 THEN '{contract.NON_POSITIVE_AMOUNT}' "
        f"WHEN {new_york_date} <> business_date THEN '{contract.WRONG_BUSINESS_DATE}' "
        f"WHEN usd_rate IS NULL THEN '{contract.UNKNOWN_CURRENCY}' END"
    )


def transactions_sql(dialect: Dialect, repeated: str) -> str:
    """Every raw transaction row with its outcome, reason_code and USD amounts."""
    order = [
        "r.ingested_at DESC NULLS LAST",
        *[f"r.{name} ASC NULLS LAST" for name in contract.DELIVERY_TIE_BREAK],
    ]
    # Rounded at the product's own precision, then checked against decimal(18,2)'s range: a
    # value beyond it is the day's problem, never a NULL or a wrapped amount.
    limit = f"CAST({contract.MONEY_LIMIT} AS DECIMAL(17,0))"
    fits = f"ABS(exact_usd) < {limit}"
    overflow = (
        f"CASE WHEN outcome = 'VALID' AND NOT ({fits}) THEN 'amount * usd_rate = ' || "
        "CAST(exact_usd AS STRING) || ' does not fit decimal(18,2)' END"
    )
    signed = (
        f"CASE WHEN event_type IN ({_list(contract.CREDIT_EVENT_TYPES)}) THEN amount_usd "
        "ELSE -amount_usd END"
    )
    return (
        f"WITH {_ranked(dialect, 'transactions', order, 'delivery_rank', repeated)}, "
        "priced AS (SELECT ranked.*, CASE WHEN ranked.currency = "
        f"'{contract.BASE_CURRENCY}' THEN CAST(1 AS {contract.RATE_SQL}) "
        f"ELSE rates.listed_usd_rate END AS usd_rate FROM ranked LEFT JOIN {USD_RATES} AS rates "
        "ON ranked.business_date = rates.business_date AND ranked.currency = rates.currency), "
        "judged AS (SELECT priced.*, CASE WHEN delivery_rank = 1 THEN "
        f"{_reason_code(dialect)} END AS reason_code FROM priced), "
        "decided AS (SELECT judged.*, CASE WHEN delivery_rank > 1 THEN 'DUPLICATE' "
        "WHEN reason_code IS NOT NULL THEN 'REJECTED' ELSE 'VALID' END AS outcome, "
        f"ROUND(CAST(amount AS {WIDE_MONEY_SQL}) * usd_rate, 2) AS exact_usd FROM judged), "
        "checked AS (SELECT decided.*, CASE WHEN outcome = 'VALID' AND "
        f"{fits} THEN CAST(exact_usd AS {contract.MONEY_SQL}) END AS amount_usd, "
        f"COALESCE({_not_utf8_problem(dialect, 'transactions')}, {overflow}) AS problem "
        "FROM decided), "
        "valid AS (SELECT "
        f"{_made_valid(dialect, 'transactions', contract.RAW_SCHEMAS['transactions'].names)}, "
        "business_date, outcome, usd_rate, amount_usd, reason_code, problem, source_file "
        "FROM checked) "
        "SELECT business_date, outcome, event_id, transaction_id, account_id, customer_id, "
        "event_type, merchant_category, currency, amount, usd_rate, amount_usd, "
        f"CASE WHEN outcome = 'VALID' THEN CAST({signed} AS {contract.MONEY_SQL}) END "
        "AS signed_amount_usd, event_ts, ingested_at, reason_code, "
        "CASE WHEN problem IS NOT NULL THEN source_file END AS source_file, problem FROM valid"
    )


def customers_sql(dialect: Dialect, repeated: str) -> str:
    """Every raw customer row with its outcome; the latest row of each customer is VALID (it
    looks up no rates). Emails are trimmed as Python strips, lowered and hashed; empty: NULL."""
    order = [
        "r.updated_at DESC NULLS LAST",
        *[f"r.{name} ASC NULLS LAST" for name in CUSTOMER_TIE_BREAK],
    ]
    trimmed = dialect.trimmed.format(text="email", chars=f"'{PYTHON_WHITESPACE}'")
    return (
        f"WITH {_ranked(dialect, 'customers', order, 'snapshot_rank', repeated)}, "
        "judged AS (SELECT ranked.*, CASE WHEN customer_id IS NULL THEN 'MISSING_ID' "
        "WHEN snapshot_rank > 1 THEN 'SUPERSEDED' ELSE 'VALID' END AS outcome, "
        f"{_not_utf8_problem(dialect, 'customers')} AS problem FROM ranked), "
        "valid AS (SELECT "
        f"{_made_valid(dialect, 'customers', contract.RAW_SCHEMAS['customers'].names)}, "
        "business_date, outcome, problem, source_file FROM judged), "
        f"trimmed AS (SELECT valid.*, {trimmed} AS trimmed_email FROM valid) "
        "SELECT business_date, outcome, customer_id, country, segment, kyc_status, created_at, "
        "CASE WHEN trimmed_email <> '' THEN "
        f"{dialect.sha256_hex.format(text='lower(trimmed_email)')} END AS email_sha256, "
        "CASE WHEN problem IS NOT NULL THEN source_file END AS source_file, problem FROM trimmed"
    )


# Each declared source's transform (`RawSource.transform`), by name.
TRANSFORMS: dict[str, Callable[[Dialect, str], str]] = {
    "transactions": transactions_sql,
    "customers": customers_sql,
}
_UNDECLARED = set(DECLARED_TRANSFORMS) ^ set(TRANSFORMS)
if _UNDECLARED:
    raise DeclarationError(
        f"silver transform(s) {sorted(_UNDECLARED)}: declared by a source without a SQL "
        "transform here, or the other way round"
    )


def silver_sql(transform: str, dialect: Dialect, repeated_keys: str | None = None) -> str:
    """The transform's query over `raw_rows` and `usd_rates`, in the engine's dialect; over the
    relation named `repeated_keys` (`repeated_keys_sql`'s rows) when the engine computed them."""
    repeated = (
        repeated_keys_sql(transform, dialect)
        if repeated_keys is None
        else f"SELECT repeated_date, repeated_digest FROM {repeated_keys}"
    )
    return TRANSFORMS[transform](dialect, repeated)
