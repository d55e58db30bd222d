"""Dagster's tag names for an event's provenance: its staleness ("Unsynced") and lineage read
them from the latest event of each partition."""

DATA_VERSION_TAG = "dagster/data_version"
CODE_VERSION_TAG = "dagster/code_version"
INPUT_DATA_VERSION_PREFIX = "dagster/input_data_version"
INPUT_EVENT_POINTER_PREFIX = "dagster/input_event_pointer"
