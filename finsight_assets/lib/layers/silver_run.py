"""Silver's engine run: one job over every day, and where it fails, each day alone, so a file the
engine cannot decode fails only its own day. Raw files Spark's listing would skip are given to it
under aliases, and errors name the raw files again."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from decimal import Decimal
from urllib.parse import unquote, urlparse

import pyarrow as pa
import pyarrow.parquet as pq

from finsight_assets.lib.contract.tables import RAW_SCHEMAS
from finsight_assets.lib.engines.lake import Lake, hidden_from_spark
from finsight_assets.lib.engines.silver_engine import SilverEngine, UncomputableDay
from finsight_assets.lib.layers.silver_job import SilverJob

logger = logging.getLogger(__name__)


def lake_path(spark_path: str) -> str:
    """A raw file as the lake names it, from the path Spark reports (`file:` URLs decoded)."""
    parsed = urlparse(spark_path)
    return unquote(parsed.path) if parsed.scheme in ("", "file") else spark_path


def visible_to_spark(
    lake: Lake, files: Mapping[date, Sequence[str]], aliases_uri: str
) -> tuple[dict[date, list[str]], dict[str, str]]:
    """The files as Spark is given them: a raw file whose name Spark's listing would skip
    (`_late.parquet` is data, docs/contract.md) under an alias in the run's staging, in a folder of
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


def unaliased(text: str, aliases: Mapping[str, str]) -> str:
    """An error naming the raw files, not their aliases."""
    for alias, uri in aliases.items():
        text = text.replace(alias, uri)
    return text


def run_by_day(
    run_days: Callable[[Mapping[date, Sequence[str]], str], None],
    discard: Callable[[str], None],
    files: Mapping[date, Sequence[str]],
    target: str,
    day_target: Callable[[date], str],
    describe: Callable[[Sequence[str], Exception], str],
) -> dict[date, str]:
    """Run every day into `target` at once. If that fails, run each day alone (into its
    `day_target`), so a failure stays with its own day; returns the days that failed alone,
    `describe`d. `discard` removes what a failed run left at a target."""
    try:
        run_days(files, target)
        return {}
    # Whatever the engine raises (a Py4J error, a failed EMR job run, a DuckDB read error): the
    # day-by-day runs below tell which days it belongs to.
    except Exception as error:
        if len(files) == 1:
            (d,) = files
            discard(target)
            return {d: describe(files[d], error)}
        logger.warning("silver failed on the batch, running each day alone: %s", error)
    discard(target)
    failed = {}
    for d, day_files in sorted(files.items()):
        try:
            run_days({d: day_files}, day_target(d))
        except Exception as error:
            discard(day_target(d))
            failed[d] = describe(day_files, error)
    return failed


def run_engine(
    engine: SilverEngine,
    lake: Lake,
    transform: str,
    files: Mapping[date, Sequence[str]],
    usd_rates: Mapping[date, Mapping[str, Decimal]],
    uri: str,
) -> dict[date, str]:
    """Run the transform's job on the engine over every day, else day by day (`run_by_day`),
    its outcome rows written under `uri`; returns the days that failed alone, with the error."""

    def run_days(days: Mapping[date, Sequence[str]], staging_uri: str) -> None:
        engine.run(
            SilverJob(
                transform=transform,
                files_by_date=days,
                staging_uri=staging_uri,
                usd_rates={d: usd_rates[d] for d in days if d in usd_rates},
            )
        )

    return run_by_day(
        run_days,
        lake.remove_staging,
        files,
        uri,
        lambda d: f"{uri}/day-{d.isoformat()}",
        lambda day_files, error: day_failure(lake, engine.name, transform, day_files, error),
    )


def undecodable(lake: Lake, transform: str, day_files: Sequence[str]) -> tuple[str, str] | None:
    """The first of a day's files whose contract columns do not decode, with Arrow's error."""
    for uri in day_files:
        try:
            with lake.open_input(uri) as handle:
                pq.read_table(handle, columns=RAW_SCHEMAS[transform].names)
        except (OSError, pa.ArrowException) as error:
            return uri, str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
    return None


def day_failure(
    lake: Lake, engine: str, transform: str, day_files: Sequence[str], error: Exception
) -> str:
    """A day the engine could not compute: the file whose data does not decode, as every engine
    says it, else the engine's first line; and the day's files."""
    if isinstance(error, UncomputableDay):
        return str(error)
    files = f"(the day's files: {', '.join(day_files)})"
    broken = undecodable(lake, transform, day_files)
    if broken is not None:
        uri, why = broken
        return f"raw/{transform}: could not compute the day: {uri} does not decode: {why} {files}"
    first = next((line.strip() for line in str(error).splitlines() if line.strip()), repr(error))
    return f"raw/{transform}: {engine} could not compute the day: {first[:600]} {files}"
