"""The run tags FinSight reads and writes (lane, mode, manifest, side effects, priority), and the
modes a run publishes in (the `_mode` of every row it writes)."""

from collections.abc import Mapping

MODE_TAG = "finsight/mode"
LANE_TAG = "finsight/lane"
MANIFEST_TAG = "finsight/manifest_id"
SIDE_EFFECTS_TAG = "finsight/allow_side_effects"
# One launch or retry of a manifest: finds its Dagster backfill again after a crash.
ATTEMPT_TAG = "finsight/attempt"
BACKFILL_ID_TAG = "dagster/backfill"
PRIORITY_TAG = "dagster/priority"
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
PARTITION_TAG = "dagster/partition"

LIVE, BACKFILL, DRY_RUN = "LIVE", "BACKFILL", "DRY_RUN"
MODES = (LIVE, BACKFILL, DRY_RUN)

DAILY_LANE, BACKFILL_LANE = "daily", "backfill"
# On one machine the lanes share the cores: a backfill run and its Spark server run at this
# niceness, so they yield the CPU to a daily run.
LANE_NICENESS = {DAILY_LANE: 0, BACKFILL_LANE: 10}
# Daily runs are dequeued before backfill runs.
DAILY_PRIORITY, BACKFILL_PRIORITY = "10", "-1"

UI_MANIFEST_PREFIX = "ui-"
# What a manifest id may hold: it names files and rides in run tags into the audit schema.
MANIFEST_ID_MAX_LENGTH = 120


def is_manifest_id(text: str) -> bool:
    return 0 < len(text) <= MANIFEST_ID_MAX_LENGTH and all(
        ch.isascii() and (ch.isalnum() or ch in "-_") for ch in text
    )


def ui_manifest_id(backfill_id: str) -> str:
    """The manifest id of a backfill launched without one (from the UI): derived, not stored."""
    return f"{UI_MANIFEST_PREFIX}{backfill_id}"


def manifest_id_of(tags: Mapping[str, str]) -> str | None:
    """The manifest a run belongs to: its manifest tag, else its UI backfill's derived id.

    Validated where it enters: a tag that is not a manifest id raises ValueError.
    """
    if tags.get(MANIFEST_TAG):
        found = tags[MANIFEST_TAG]
    elif BACKFILL_ID_TAG in tags:
        found = ui_manifest_id(tags[BACKFILL_ID_TAG])
    else:
        return None
    if not is_manifest_id(found):
        raise ValueError(f"run tag {MANIFEST_TAG}={found!r} is not a manifest id")
    return found
