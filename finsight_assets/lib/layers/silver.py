"""Silver end to end, engine by engine: check raw files, run Spark, load, write-audit-publish.

Knows nothing of Dagster: the assets in `defs/silver` call these functions with a silver engine
(where the Spark jobs run), a lake, a warehouse and the run's identity.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from urllib.parse import unquote, urlparse

import pyarrow as pa
import pyarrow.parquet as pq

from finsight_assets.lib.contract import tables as contract
from finsight_assets.lib.contract.lineage import UPSTREAM
from finsight_assets.lib.engines.lake import STAGING_INPUTS_SUFFIX, Lake, hidden_from_spark
from finsight_assets.lib.engines.spark import SilverEngine
from finsight_assets.lib.engines.warehouse import Connect, Warehouse, string_literal
from finsight_assets.lib.layers import silver_spark
from finsight_assets.lib.layers.raw_files import (
    RawFileError,
    RawPartition,
    combine_versions,
    data_version,
    inspect_partition,
)
from finsight_assets.lib.wap import publish
from finsight_assets.lib.wap.layout import staging_table
from finsight_assets.lib.wap.model import AuditInputs, LayerResult, RunInfo, StagedPartitions

logger = logging.getLogger(__name__)


def _inspect(
    lake: Lake, table: str, dates: Sequence[date], failed: dict[date, str]
) -> dict[date, RawPartition]:
    partitions = {}
    for d in dates:
        if d in failed:
            continue
        try:
            partitions[d] = inspect_partition(lake, table, d)
        except RawFileError as error:
            failed[d] = f"raw/{table}: {error}"
    return partitions


def read_usd_rates(lake: Lake, partition: RawPartition) -> dict[str, Decimal]:
    """A day's listed rates (a few rows: read in the driver). A rate that is null, zero or
    negative, a row without a currency, or one currency listed at two rates fails the day,
    naming the file (identical repeated rows count once)."""
    rates: dict[str, Decimal] = {}
    for file in partition.files:
        try:
            with lake.open_input(file.uri) as handle:
                table = pq.read_table(handle, columns=["currency", "usd_rate"])
            listed = list(
                zip(
                    table.column("currency").to_pylist(),
                    table.column("usd_rate").to_pylist(),
                    strict=True,
                )
            )
        except (OSError, pa.ArrowException, UnicodeDecodeError) as error:
            raise RawFileError(file.uri, f"unreadable fx_rates file ({error})") from error
        for currency, rate in listed:
            if currency is None:
                raise RawFileError(file.uri, f"a rate of {rate} is listed without a currency")
            if rate is None or rate <= 0:
                raise RawFileError(
                    file.uri, f"usd_rate for {currency} is {rate}: a rate must be positive"
                )
            if currency in rates and rates[currency] != rate:
                raise RawFileError(
                    file.uri, f"conflicting usd_rate for {currency}: {rates[currency]} and {rate}"
                )
            rates[currency] = rate
    return rates


# Where each row came from, and what makes its day uncomputable (`silver_spark`).
_PROVENANCE = (
    contract.Column("source_file", contract.TEXT),
    contract.Column("problem", contract.TEXT),
)
_TRANSACTION_OUTCOME_COLUMNS = (
    contract.Column("business_date", contract.DATE),
    contract.Column("outcome", contract.TEXT),
    *contract.SILVER_TRANSACTIONS_REJECTED.columns[1:],
    contract.Column("usd_rate", contract.RATE_SQL),
    contract.Column("amount_usd", contract.MONEY_SQL),
    contract.Column("signed_amount_usd", contract.MONEY_SQL),
    *_PROVENANCE,
)
_CUSTOMER_OUTCOME_COLUMNS = (
    contract.Column("business_date", contract.DATE),
    contract.Column("outcome", contract.TEXT),
    *contract.SILVER_CUSTOMERS.columns[1:],
    *_PROVENANCE,
)
# How many of a problem's rows its error names.
NAMED_ROWS = 5


def lake_path(spark_path: str) -> str:
    """A raw file as the lake names it, from the path Spark reports (`file:` URLs decoded)."""
    parsed = urlparse(spark_path)
    return unquote(parsed.path) if parsed.scheme in ("", "file") else spark_path


def _problems(warehouse: Warehouse, outcome_rows: str, key: str) -> dict[date, str]:
    """Per business date, what makes it uncomputable: each file and problem with its row count
    and the first rows' keys (a small result: NAMED_ROWS rows per file and problem)."""
    group = "business_date, source_file, problem"
    rows = warehouse.fetchall(
        f"SELECT business_date, source_file, problem, k, n FROM ("
        f"SELECT {group}, {key} AS k, "
        f"ROW_NUMBER() OVER (PARTITION BY {group} ORDER BY {key}) AS r, "
        f"COUNT(*) OVER (PARTITION BY {group}) AS n "
        f"FROM {outcome_rows} AS outcomes WHERE problem IS NOT NULL) AS p "
        f"WHERE r <= {NAMED_ROWS} ORDER BY business_date, source_file, problem, k"
    )
    named: dict[tuple[date, str, str], tuple[list[str], int]] = {}
    for d, source, problem, k, n in rows:
        named.setdefault((d, source, problem), ([], int(n)))[0].append(str(k))
    found: dict[date, list[str]] = {}
    for (d, source, problem), (keys, n) in named.items():
        more = f" and {n - len(keys)} more" if n > len(keys) else ""
        found.setdefault(d, []).append(
            f"{lake_path(source)}: {problem} ({n} row(s); {key} {', '.join(keys)}{more})"
        )
    return {d: "; ".join(texts) for d, texts in found.items()}


def _select(table: contract.TableSpec, source: str, outcome: str) -> str:
    columns = ", ".join(table.business_columns)
    return f"SELECT {columns} FROM {source} AS outcomes WHERE outcome = {string_literal(outcome)}"


def build_silver_transactions(
    engine: SilverEngine,
    lake: Lake,
    connect: Connect,
    run: RunInfo,
    dates: Sequence[date],
    code_version: str,
) -> LayerResult:
    """silver.transactions and silver.transactions_rejected for the given dates, published together.

    A date whose raw files break the contract is reported in `failed` and publishes nothing;
    the other dates go on.
    """
    result = LayerResult()
    transactions = _inspect(lake, "transactions", dates, result.failed)
    fx = _inspect(lake, "fx_rates", dates, result.failed)
    rates: dict[date, Mapping[str, Decimal]] = {}
    for d in dates:
        if d in result.failed:
            continue
        try:
            rates[d] = read_usd_rates(lake, fx[d])
        except RawFileError as error:
            result.failed[d] = f"raw/fx_rates: {error}"
    good = [d for d in dates if d not in result.failed]
    if not good:
        return result
    files = {d: [f.uri for f in transactions[d].files] for d in good if transactions[d].files}
    _stage_load_audit_publish(
        connect,
        lake,
        run,
        code_version,
        engine=engine,
        outcomes=_Outcomes(
            "transactions",
            _TRANSACTION_OUTCOME_COLUMNS,
            silver_spark.TRANSACTION_OUTCOMES,
            raw_tables_of(contract.SILVER_TRANSACTIONS.qualified_name),
            key="event_id",
        ),
        files=files,
        usd_rates={d: rates[d] for d in files},
        tables=[
            (contract.SILVER_TRANSACTIONS, "VALID"),
            (contract.SILVER_TRANSACTIONS_REJECTED, "REJECTED"),
        ],
        input_versions={
            d: combined_input_version([transactions[d].version, fx[d].version]) for d in good
        },
        raw_rows={d: transactions[d].rows for d in good},
        result=result,
    )
    return result


def build_silver_customers(
    engine: SilverEngine,
    lake: Lake,
    connect: Connect,
    run: RunInfo,
    dates: Sequence[date],
    code_version: str,
) -> LayerResult:
    """silver.customers for the given dates, from each date's raw snapshot."""
    result = LayerResult()
    snapshots = _inspect(lake, "customers", dates, result.failed)
    good = [d for d in dates if d not in result.failed]
    if not good:
        return result
    files = {d: [f.uri for f in snapshots[d].files] for d in good if snapshots[d].files}
    _stage_load_audit_publish(
        connect,
        lake,
        run,
        code_version,
        engine=engine,
        outcomes=_Outcomes(
            "customers",
            _CUSTOMER_OUTCOME_COLUMNS,
            silver_spark.CUSTOMER_OUTCOMES,
            raw_tables_of(contract.SILVER_CUSTOMERS.qualified_name),
            key="customer_id",
        ),
        files=files,
        tables=[(contract.SILVER_CUSTOMERS, "VALID")],
        input_versions={d: combined_input_version([snapshots[d].version]) for d in good},
        raw_rows={d: snapshots[d].rows for d in good},
        result=result,
    )
    return result


@dataclass(frozen=True)
class _Outcomes:
    transform: str
    columns: Sequence[contract.Column]
    labels: Sequence[str]
    # The raw tables the transform reads, in the order their versions combine.
    raw_tables: tuple[str, ...]
    # The column that names a row in an error.
    key: str


def combined_input_version(raw_versions: Sequence[str]) -> str:
    """A silver partition's input version from its raw tables' data versions, in `raw_tables`
    order (a single table's version is its own)."""
    return combine_versions(*raw_versions) if len(raw_versions) > 1 else raw_versions[0]


def input_version(lake: Lake, raw_tables: Sequence[str], business_date: date) -> str:
    """The version of what a silver partition is computed from, as its raw files are now."""
    return combined_input_version(
        [data_version(lake.raw_files(table, business_date)) for table in raw_tables]
    )


def raw_tables_of(table_name: str) -> tuple[str, ...]:
    """The raw tables a silver table is computed from, in the order their versions combine
    (none for a table computed from other tables)."""
    upstream = UPSTREAM.get(table_name, ())
    if not all(name.startswith("raw.") for name in upstream):
        return ()
    return tuple(name.split(".", 1)[1] for name in upstream)


def input_now(lake: Lake, table_name: str, business_date: date) -> str | None:
    """The input version a silver table's partition would be computed from now (None for a
    table not computed from raw files)."""
    raw_tables = raw_tables_of(table_name)
    return input_version(lake, raw_tables, business_date) if raw_tables else None


def _changed_inputs(
    lake: Lake, raw_tables: Sequence[str], computed_from: Mapping[date, str]
) -> dict[date, str]:
    """The dates whose raw input is no longer the one they were computed from, with the new
    version: a delivery landed while they were computed."""
    now = {d: input_version(lake, raw_tables, d) for d in computed_from}
    return {d: version for d, version in now.items() if version != computed_from[d]}


def _visible_to_spark(
    lake: Lake, files: Mapping[date, Sequence[str]], aliases_uri: str
) -> tuple[dict[date, list[str]], dict[str, str]]:
    """The files as Spark is given them: a raw file whose name Spark's listing would skip
    (`_late.parquet` is data, CONTRACT.md) under an alias in the run's staging, in a folder of
    the same business date; and the raw file of each alias."""
    visible: dict[date, list[str]] = {}
    aliases: dict[str, str] = {}
    for d, uris in files.items():
        visible[d] = []
        for i, uri in enumerate(uris):
            name = uri.rsplit("/", 1)[-1]
            if not hidden_from_spark(name):
                visible[d].append(uri)
                continue
            alias = f"{aliases_uri}/business_date={d.isoformat()}/alias-{i}-{name.lstrip('._')}"
            lake.alias(uri, alias)
            aliases[alias] = uri
            visible[d].append(alias)
    return visible, aliases


def _unaliased(text: str, aliases: Mapping[str, str]) -> str:
    """An error naming the raw files, not their aliases."""
    for alias, uri in aliases.items():
        text = text.replace(alias, uri)
    return text


def _run_spark(
    engine: SilverEngine,
    lake: Lake,
    transform: str,
    files: Mapping[date, Sequence[str]],
    usd_rates: Mapping[date, Mapping[str, Decimal]],
    uri: str,
) -> dict[date, str]:
    """Run the transform over every day in one job. If Spark fails (a file it cannot decode
    past its footer), run each day alone, so the failure stays with its own day; returns the
    days that failed alone, with Spark's error."""

    def job(days: Mapping[date, Sequence[str]], staging_uri: str) -> silver_spark.SilverJob:
        return silver_spark.SilverJob(
            transform=transform,
            files_by_date=days,
            staging_uri=staging_uri,
            usd_rates={d: usd_rates[d] for d in days if d in usd_rates},
        )

    try:
        engine.run(job(files, uri))
        return {}
    # Whatever the engine raises (a Py4J error, a failed EMR job run): the day-by-day runs
    # below tell which days it belongs to.
    except Exception as error:
        if len(files) == 1:
            (d,) = files
            lake.remove_staging(uri)
            return {d: _spark_failure(transform, files[d], error)}
        logger.warning(
            "%s: Spark failed on the batch, running each day alone: %s", transform, error
        )
    lake.remove_staging(uri)
    failed = {}
    for d, day_files in sorted(files.items()):
        day_uri = f"{uri}/day-{d.isoformat()}"
        try:
            engine.run(job({d: day_files}, day_uri))
        except Exception as error:
            lake.remove_staging(day_uri)
            failed[d] = _spark_failure(transform, day_files, error)
    return failed


def _spark_failure(transform: str, day_files: Sequence[str], error: Exception) -> str:
    """A day Spark could not compute: Spark's first line (it names the file it could not read),
    and the day's files."""
    first = next((line.strip() for line in str(error).splitlines() if line.strip()), repr(error))
    return (
        f"raw/{transform}: Spark could not compute the day: {first[:600]} "
        f"(the day's files: {', '.join(day_files)})"
    )


def _stage_load_audit_publish(
    connect: Connect,
    lake: Lake,
    run: RunInfo,
    code_version: str,
    *,
    engine: SilverEngine,
    outcomes: _Outcomes,
    files: Mapping[date, Sequence[str]],
    usd_rates: Mapping[date, Mapping[str, Decimal]] | None = None,
    tables: Sequence[tuple[contract.TableSpec, str]],
    input_versions: Mapping[date, str],
    raw_rows: Mapping[date, int],
    result: LayerResult,
) -> None:
    """Spark writes the outcome rows (no warehouse connection held meanwhile), then the warehouse
    loads them, stages each table's rows, audits them, and publishes all tables together."""
    result.raw_rows = sum(raw_rows.values())
    aliases: dict[str, str] = {}
    for swept in lake.sweep_staging():
        logger.info("removed %s: staging of a run that was killed", swept)
    uri = lake.staging_uri(f"silver_{outcomes.transform}", run.run_id)
    try:
        staged_files: list[str] = []
        if files:
            files, aliases = _visible_to_spark(lake, files, f"{uri}{STAGING_INPUTS_SUFFIX}")
            unreadable = _run_spark(engine, lake, outcomes.transform, files, usd_rates or {}, uri)
            result.failed.update({d: _unaliased(why, aliases) for d, why in unreadable.items()})
            staged_files = lake.parquet_files(uri)
        input_versions = {d: v for d, v in input_versions.items() if d not in result.failed}
        raw_rows = {d: n for d, n in raw_rows.items() if d not in result.failed}
        if not input_versions:
            return
        with connect() as warehouse:
            outcome_table = staging_table(f"{outcomes.transform}_outcomes", run.run_id)
            staged_all: list[StagedPartitions] = []
            try:
                outcome_rows = warehouse.staged_relation(
                    outcome_table, staged_files, outcomes.columns
                )
                for table, outcome in tables:
                    staged = publish.stage(
                        warehouse,
                        table,
                        run,
                        code_version,
                        input_versions,
                        _select(table, outcome_rows, outcome),
                    )
                    staged_all.append(staged)
                    inputs = AuditInputs(raw_rows, outcome_rows, outcome, outcomes.labels)
                    result.audits[table.qualified_name] = publish.audit(warehouse, staged, inputs)
                uncomputable = {
                    d: _unaliased(f"raw/{outcomes.transform}: {problem}", aliases)
                    for d, problem in _problems(warehouse, outcome_rows, outcomes.key).items()
                }
                stale = _changed_inputs(lake, outcomes.raw_tables, input_versions)
                for d, now in stale.items():
                    uncomputable.setdefault(
                        d,
                        f"raw/{' and raw/'.join(outcomes.raw_tables)} changed while {d} was "
                        f"computed (input {input_versions[d]}, now {now}): not published, so "
                        "the day never goes live on an older delivery; run it again",
                    )
                for d, why in uncomputable.items():
                    result.failed[d] = why
                    for staged in staged_all:
                        publish.withdraw(warehouse, staged, d)
                if staged_all and staged_all[0].dates:
                    published = publish.publish_audited(warehouse, result.audits, *staged_all)
                    result.withheld.update(published.withheld)
                    result.failed.update(published.withheld)
                    for version in published.versions:
                        result.versions.setdefault(version.table_name, []).append(version)
                    for version in published.held:
                        result.held.setdefault(version.table_name, []).append(version)
            finally:
                for staged in staged_all:
                    publish.drop_staged(warehouse, staged)
                warehouse.execute(f"DROP TABLE IF EXISTS {outcome_table}")
    finally:
        lake.remove_staging(uri)
        lake.remove_staging(f"{uri}{STAGING_INPUTS_SUFFIX}")
