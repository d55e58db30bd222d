"""Silver's Spark run: one job over every day, and where it fails, each day alone, so a file
Spark cannot decode fails only its own day. Raw files Spark's listing would skip are given to it
under aliases, and errors name the raw files again."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from urllib.parse import unquote, urlparse

from finsight_assets.lib.engines.lake import Lake, hidden_from_spark
from finsight_assets.lib.engines.spark import SilverEngine
from finsight_assets.lib.layers import silver_spark

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


def run_spark(
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
