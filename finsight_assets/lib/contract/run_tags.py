"""The run tags FinSight reads and writes: lane, mode, manifest, side effects, priority."""

MODE_TAG = "finsight/mode"
LANE_TAG = "finsight/lane"
MANIFEST_TAG = "finsight/manifest_id"
SIDE_EFFECTS_TAG = "finsight/allow_side_effects"
BACKFILL_ID_TAG = "dagster/backfill"
PRIORITY_TAG = "dagster/priority"
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
PARTITION_TAG = "dagster/partition"

DAILY_LANE, BACKFILL_LANE = "daily", "backfill"
# Daily runs are dequeued before backfill runs.
DAILY_PRIORITY, BACKFILL_PRIORITY = "10", "-1"

UI_MANIFEST_PREFIX = "ui-"


def ui_manifest_id(backfill_id: str) -> str:
    """The manifest id of a backfill launched without one (from the UI): derived, not stored."""
    return f"{UI_MANIFEST_PREFIX}{backfill_id}"
