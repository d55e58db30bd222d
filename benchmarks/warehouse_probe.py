"""What the DuckDB warehouse does during a run, statement by statement: the rows and bytes each
scans, the rows it writes into which table, and the rows it hands to Python.

`probing()` wraps `DuckDBWarehouse`'s public statement methods (`execute`, `fetchall`,
`fetch_arrow_batches`; `count_changed` goes through `fetchall`) for the time of a `with` block,
and turns on DuckDB's JSON profiler on each connection they use:
- rows and bytes scanned: each scan operator's `rows_scanned`, its bytes its output's
  `intermediate_size_bytes` per output row times the rows scanned (DuckDB's in-memory width of
  the columns it reads, not the file's compressed bytes);
- rows written: the changed-row count DuckDB answers an INSERT, UPDATE, DELETE, MERGE or
  CREATE TABLE AS with (a DML statement sent to `execute` is sent to `fetchall` instead, the
  same statement on the same connection, to read it); bytes written: what the write operator
  was given;
- rows and bytes fetched: the rows of every result (`fetchall`, Arrow batches) of a statement
  that is not a write, and their bytes (the Arrow batches' own, or the result's width in the
  profile).
Statements that bypass the warehouse class (a test's own `connection.execute`) are not seen.
"""

from __future__ import annotations

import json
import re
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from finsight_assets.lib.engines.duckdb_warehouse import DuckDBWarehouse
from finsight_assets.lib.wap.layout import STAGING_SCHEMA

_DML = re.compile(
    r"^\s*(?:INSERT\s+(?:OR\s+\w+\s+)?INTO|DELETE\s+FROM|UPDATE|MERGE\s+INTO)\s+([\w.\"]+)",
    re.IGNORECASE,
)
_CREATE_AS = re.compile(
    r"^\s*CREATE\s+(?:OR\s+REPLACE\s+)?(?:TEMP\w*\s+)?TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?"
    r"([\w.\"]+)\s+AS\b",
    re.IGNORECASE,
)
_QUERY = re.compile(r"^\s*(?:SELECT|WITH|FROM|\(|VALUES|SHOW|DESCRIBE)", re.IGNORECASE)
# Where the warehouses stage: Snowflake's staging schema, DuckDB's temporary tables.
STAGING_SCHEMAS = (STAGING_SCHEMA, DuckDBWarehouse.staging_schema)
# A statement reads staged rows when it names a staging table or the staged Parquet files.
_STAGED = re.compile(
    "|".join([*(rf"\b{re.escape(schema)}\." for schema in STAGING_SCHEMAS), "/staging/"]),
    re.IGNORECASE,
)
# A statement that reads the lake's raw files computes silver (EMR's work in production).
_RAW = re.compile(r"/raw/")
SILVER_FROM_RAW = "silver from raw files (EMR's in production)"
LOAD = "load (write into staging)"


@dataclass
class Statement:
    """One statement the warehouse ran and what it touched."""

    sql: str
    kind: str  # "write", "query" or "other" (DDL, transactions, settings)
    target: str | None
    reads_staged: bool
    rows_scanned: int = 0
    bytes_scanned: int = 0
    rows_written: int = 0
    bytes_written: int = 0
    rows_fetched: int = 0
    bytes_fetched: int = 0
    seconds: float = 0.0


def classify(sql: str) -> tuple[str, str | None, bool]:
    """A statement's kind, the table it writes (None unless a write) and whether it reads
    staged rows."""
    reads_staged = bool(_STAGED.search(sql))
    written = _DML.match(sql) or _CREATE_AS.match(sql)
    if written:
        return "write", written.group(1).replace('"', "").lower(), reads_staged
    if _QUERY.match(sql):
        return "query", None, reads_staged
    return "other", None, reads_staged


def is_staging(table: str | None) -> bool:
    """Whether `table` (schema-qualified) is in a staging schema."""
    return table is not None and table.lower().rsplit(".", 1)[0] in STAGING_SCHEMAS


def _operators(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("children", []):
        yield from _operators(child)


_WRITE_OPERATORS = ("INSERT", "CREATE_TABLE_AS", "DELETE", "UPDATE", "MERGE")
# A scan's bytes per row read off its output: a selective filter pushed into the scan leaves few
# rows in vectors that keep their whole buffers (a 944k-row scan keeping 14k rows read as 32 KB a
# row), so a row counts at most this wide (a contract row is a few hundred bytes in memory).
MAX_SCANNED_ROW_BYTES = 1024


def profiled(profile: dict[str, Any]) -> tuple[int, int, int, int]:
    """Rows scanned, bytes scanned, bytes given to a write operator and bytes of the result,
    from DuckDB's JSON profile of one statement."""
    rows = scanned = written = result = 0
    for root in profile.get("operator", []):
        result += sum(c.get("intermediate_size_bytes", 0) for c in root.get("children", []))
        for op in _operators(root):
            if "rows_scanned" in op:
                rows += op["rows_scanned"]
                out = op.get("intermediate_rows", 0)
                if out:
                    width = min(op.get("intermediate_size_bytes", 0) // out, MAX_SCANNED_ROW_BYTES)
                    scanned += width * op["rows_scanned"]
            if any(name in op.get("type", "") for name in _WRITE_OPERATORS):
                written += sum(c.get("intermediate_size_bytes", 0) for c in op.get("children", []))
    return rows, scanned, written, result


class Probe:
    """The statements seen while probing, in order."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.statements: list[Statement] = []
        self._profiles: dict[int, Path] = {}

    def profile_path(self, warehouse: DuckDBWarehouse) -> Path:
        connection = warehouse.connection
        key = id(connection)
        if key not in self._profiles:
            path = self.folder / f"profile-{len(self._profiles)}.json"
            connection.execute("PRAGMA enable_profiling = 'json'")
            connection.execute("SET profiling_coverage = 'ALL'")
            connection.execute(f"PRAGMA profiling_output = '{path}'")
            self._profiles[key] = path
        return self._profiles[key]

    def record(self, warehouse: DuckDBWarehouse, sql: str, seconds: float, **counts: int) -> None:
        kind, target, reads_staged = classify(sql)
        statement = Statement(sql, kind, target, reads_staged, seconds=seconds, **counts)
        path = self.profile_path(warehouse)
        if path.is_file():
            profile = json.loads(path.read_text())
            if profile.get("query", {}).get("sql", "").strip() == sql.strip():
                rows, scanned, written, result = profiled(profile)
                statement.rows_scanned, statement.bytes_scanned = rows, scanned
                statement.bytes_written = written
                if statement.rows_fetched and not statement.bytes_fetched:
                    statement.bytes_fetched = result
        self.statements.append(statement)

    def summary(self, published_rows: int) -> dict[str, Any]:
        """The figures a day's run gives: staged rows fetched and rows written per published
        row, and the statements by kind."""
        return summarise(self.statements, published_rows)


def summarise(statements: Sequence[Statement], published_rows: int) -> dict[str, Any]:
    """Staged rows fetched into Python and rows written outside staging, per published row,
    with the statements by kind and the rows written per table."""
    fetched = sum(s.rows_fetched for s in statements if s.reads_staged and s.kind != "write")
    written_by_table: dict[str, int] = {}
    for s in statements:
        if s.kind == "write" and s.target and not is_staging(s.target) and s.rows_written:
            written_by_table[s.target] = written_by_table.get(s.target, 0) + s.rows_written
    written = sum(written_by_table.values())
    fetching = sorted(
        (s for s in statements if s.reads_staged and s.kind != "write" and s.rows_fetched),
        key=lambda s: -s.rows_fetched,
    )
    kinds: dict[str, dict[str, float]] = {}
    for s in statements:
        kind = s.kind
        if _RAW.search(s.sql) and kind != "other":
            kind = SILVER_FROM_RAW
        elif is_staging(s.target):
            kind = LOAD
        totals = kinds.setdefault(
            kind,
            dict.fromkeys(
                ("statements", "rows_scanned", "bytes_scanned", "rows_written", "bytes_written"),
                0,
            )
            | {"seconds": 0.0},
        )
        totals["statements"] += 1
        for key in ("rows_scanned", "bytes_scanned", "rows_written", "bytes_written", "seconds"):
            totals[key] += getattr(s, key)
    return {
        "published_rows": published_rows,
        "staged_rows_fetched": fetched,
        "bytes_fetched": sum(s.bytes_fetched for s in statements if s.kind != "write"),
        "staged_rows_fetched_per_published_row": fetched / published_rows,
        "rows_written": written,
        "rows_written_per_published_row": written / published_rows,
        "rows_written_by_table": written_by_table,
        "top_fetching": [
            {"rows": s.rows_fetched, "sql": " ".join(s.sql.split())[:200]} for s in fetching[:3]
        ],
        "by_kind": kinds,
    }


@contextmanager
def probing() -> Iterator[Probe]:
    """Record every statement `DuckDBWarehouse` runs inside the block, as the Snowflake
    flavour issues them: without a check hash (`check_hash_sql` answers None, as Snowflake's
    does), a publish hashes the rows it writes instead of reading them back, the one
    statement the two flavours' publishes differ in, so `SCALE.md` sizes Snowflake from
    Snowflake's statements."""
    originals = {
        name: getattr(DuckDBWarehouse, name)
        for name in ("execute", "fetchall", "fetch_arrow_batches", "check_hash_sql")
    }
    folder = Path(tempfile.mkdtemp(prefix="finsight-probe-"))
    probe = Probe(folder)

    def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        probe.profile_path(self)
        started = time.perf_counter()
        rows = originals["fetchall"](self, sql, params)
        seconds = time.perf_counter() - started
        if classify(sql)[0] == "write":
            changed = int(rows[0][0]) if rows and rows[0] and isinstance(rows[0][0], int) else 0
            probe.record(self, sql, seconds, rows_written=changed)
        else:
            probe.record(self, sql, seconds, rows_fetched=len(rows))
        return rows

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        if classify(sql)[0] == "write":
            fetchall(self, sql, params)
            return
        probe.profile_path(self)
        started = time.perf_counter()
        originals["execute"](self, sql, params)
        probe.record(self, sql, time.perf_counter() - started)

    def fetch_arrow_batches(self, sql: str, batch_rows: int, params: Sequence[Any] = ()):
        probe.profile_path(self)
        started = time.perf_counter()
        rows = size = 0
        for batch in originals["fetch_arrow_batches"](self, sql, batch_rows, params):
            rows += batch.num_rows
            size += batch.nbytes
            yield batch
        seconds = time.perf_counter() - started
        probe.record(self, sql, seconds, rows_fetched=rows, bytes_fetched=size)

    DuckDBWarehouse.execute = execute  # type: ignore[method-assign]
    DuckDBWarehouse.fetchall = fetchall  # type: ignore[method-assign]
    DuckDBWarehouse.fetch_arrow_batches = fetch_arrow_batches  # type: ignore[method-assign]
    DuckDBWarehouse.check_hash_sql = lambda self, columns: None  # type: ignore[method-assign]
    try:
        yield probe
    finally:
        for name, method in originals.items():
            setattr(DuckDBWarehouse, name, method)


def statements_json(statements: Sequence[Statement]) -> list[dict[str, Any]]:
    """The statements as JSON rows (their SQL shortened)."""
    return [asdict(s) | {"sql": " ".join(s.sql.split())[:300]} for s in statements]
