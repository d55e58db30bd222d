"""Late and corrected deliveries: published partitions whose raw input has changed since."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from finsight_assets.lib.backfills.events import LEFT_ALONE as LEFT_ALONE_EVENTS
from finsight_assets.lib.backfills.manifests import Manifest
from finsight_assets.lib.backfills.planning import raw_input_versions
from finsight_assets.lib.contract.tables import RAW_TABLES
from finsight_assets.lib.engines.lake import Lake
from finsight_assets.lib.engines.warehouse import Warehouse
from finsight_assets.lib.layers.silver_inputs import combined_input_version
from finsight_assets.lib.tables.registry import SILVER_RAW_INPUTS
from finsight_assets.lib.wap.versions import published_partitions


def published_inputs(warehouse: Warehouse) -> dict[str, dict[date, str]]:
    """Per silver table, the raw input version each published partition was computed from."""
    return {
        name: {p.business_date: p.input_version for p in published_partitions(warehouse, name)}
        for name in SILVER_RAW_INPUTS
    }


def changed_inputs(
    published: Mapping[str, Mapping[date, str]], lake: Lake
) -> dict[str, list[date]]:
    """Per silver table, the published dates whose raw files no longer match what was read."""
    raw = raw_input_versions(lake, {d for name in SILVER_RAW_INPUTS for d in published[name]})
    changed: dict[str, list[date]] = {}
    for name, raw_tables in SILVER_RAW_INPUTS.items():
        for d, version in sorted(published[name].items()):
            now = raw[d.isoformat()]
            if combined_input_version([now[table] for table in raw_tables]) != version:
                changed.setdefault(name, []).append(d)
    return changed


# How often the sensor plans one day's one raw input by itself. When that many backfills have
# ended and the day is still not on that input, a person decides (their runs' errors say why).
AUTOMATIC_PLANS_PER_INPUT = 2

# A manifest's state, as far as re-planning cares.
WAITING, RUNNING, ENDED, LEFT_ALONE = "waiting", "running", "ended", "left alone"


def manifest_state(
    events: Sequence[Mapping[str, Any]], running: Callable[[str], bool], holds: bool = False
) -> str:
    """Left alone (rolled back, cancelled or rejected: a person's decision), waiting (not
    launched yet, or holding its partitions for approval), running (one of its Dagster
    backfills has not ended) or ended."""
    kinds = {e["event"] for e in events}
    if kinds & LEFT_ALONE_EVENTS:
        return LEFT_ALONE
    backfill_ids = [e["backfill_id"] for e in events if e.get("backfill_id")]
    if not backfill_ids or holds:
        return WAITING
    return RUNNING if any(running(b) for b in backfill_ids) else ENDED


def last_landed(lake: Lake, dates: Iterable[date]) -> dict[date, datetime | None]:
    """When the newest raw file of each day landed (None: no file, or the lake does not say)."""
    landed: dict[date, datetime | None] = {}
    for d in sorted(set(dates)):
        moments = [
            f.modified_at for table in RAW_TABLES for f in lake.raw_files(table, d) if f.modified_at
        ]
        landed[d] = max(moments, default=None)
    return landed


@dataclass(frozen=True)
class Replan:
    """What the late-data sensor does with the changed days on one tick."""

    plan: dict[str, list[date]] = field(default_factory=dict)
    # Files landed within the quiet period: the delivery may not be complete yet.
    settling: list[date] = field(default_factory=list)
    # Planned AUTOMATIC_PLANS_PER_INPUT times for today's input and still not on it.
    given_up: list[date] = field(default_factory=list)


def to_replan(
    changed: Mapping[str, list[date]],
    manifests: Sequence[tuple[Manifest, str]],
    lake: Lake,
    now: datetime,
    quiet: timedelta,
) -> Replan:
    """The changed days to plan now: quiet for `quiet`, and with no manifest on today's raw
    input that is waiting, running or was left alone by a person (`manifests` come with their
    `manifest_state`). A manifest that ended with the day still off its input is planned again,
    up to AUTOMATIC_PLANS_PER_INPUT sensor plans per input.
    """
    dates = sorted({d for ds in changed.values() for d in ds})
    if not dates:
        return Replan()
    current = raw_input_versions(lake, dates)
    landed = last_landed(lake, dates)
    taken: set[tuple[str, frozenset]] = set()
    automatic: Counter[tuple[str, frozenset]] = Counter()
    for manifest, state in manifests:
        for d, versions in manifest.input_versions.items():
            key = (d, frozenset(versions.items()))
            if state != ENDED:
                taken.add(key)
            if manifest.source == "sensor":
                automatic[key] += 1
    settling = sorted(d for d in dates if (at := landed[d]) is not None and now - at < quiet)
    plan: dict[str, list[date]] = {}
    given_up: set[date] = set()
    for table, ds in changed.items():
        for d in ds:
            key = (d.isoformat(), frozenset(current[d.isoformat()].items()))
            if d in settling or key in taken:
                continue
            if automatic[key] >= AUTOMATIC_PLANS_PER_INPUT:
                given_up.add(d)
                continue
            plan.setdefault(table, []).append(d)
    return Replan(plan, settling, sorted(given_up))
