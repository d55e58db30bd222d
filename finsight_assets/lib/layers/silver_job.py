"""One Spark job of the silver layer, as plain JSON both ways: the same job runs in this process
or is shipped to a remote Spark (EMR Serverless) as the entry point's argument."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from finsight_assets.lib.tables.registry import SOURCES

# The transforms the declared sources name (`silver_spark.TRANSFORMS` runs them).
DECLARED_TRANSFORMS = tuple(source.transform for source in SOURCES)
# The key each transform's raw rows are deduplicated on and named by (`RawSource.row_key`).
ROW_KEYS = {source.transform: source.row_key for source in SOURCES}


@dataclass(frozen=True)
class SilverJob:
    """Which transform, over which raw files, staged where (and the day's USD rates)."""

    transform: str
    files_by_date: Mapping[date, Sequence[str]]
    staging_uri: str
    usd_rates: Mapping[date, Mapping[str, Decimal]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.transform not in DECLARED_TRANSFORMS:
            raise ValueError(
                f"unknown silver transform {self.transform!r}; one of {DECLARED_TRANSFORMS}"
            )

    def to_json(self) -> str:
        return json.dumps(
            {
                "transform": self.transform,
                "staging_uri": self.staging_uri,
                "files_by_date": {
                    d.isoformat(): list(files) for d, files in sorted(self.files_by_date.items())
                },
                # Rates travel as decimal strings: never through a float.
                "usd_rates": {
                    d.isoformat(): {currency: str(rate) for currency, rate in sorted(r.items())}
                    for d, r in sorted(self.usd_rates.items())
                },
            },
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str) -> SilverJob:
        data = json.loads(text)
        return cls(
            transform=data["transform"],
            staging_uri=data["staging_uri"],
            files_by_date={
                date.fromisoformat(d): list(files) for d, files in data["files_by_date"].items()
            },
            usd_rates={
                date.fromisoformat(d): {currency: Decimal(rate) for currency, rate in r.items()}
                for d, r in data.get("usd_rates", {}).items()
            },
        )
