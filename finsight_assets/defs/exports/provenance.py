"""One day of the partner export as Dagster records it, from a run or from a file written
outside runs alike: its files and, when a file was written, its provenance (data version, code
version, and the upstream day it was copied from), so its "Unsynced" follows the gold day."""

from __future__ import annotations

from datetime import date
from typing import Any

import dagster as dg

from finsight_assets.defs.data_version_tags import (
    CODE_VERSION_TAG,
    DATA_VERSION_TAG,
    INPUT_DATA_VERSION_PREFIX,
)
from finsight_assets.defs.day_events import input_tags
from finsight_assets.defs.keys import key_of, upstream_keys
from finsight_assets.lib.layers.raw_files import combine_versions
from finsight_assets.lib.tables.partner_export import PARTNER_EXPORT
from finsight_assets.lib.tables.registry import CODE_VERSIONS

EXPORT_KEY = key_of(PARTNER_EXPORT.qualified_name)


def export_provenance(instance: dg.DagsterInstance, day: date) -> dict[str, str]:
    """A written day's provenance: the export's code version, each upstream day's data version
    and event (`input_tags`), and a data version combining them (the file is their copy)."""
    code_version = CODE_VERSIONS[PARTNER_EXPORT.qualified_name]
    inputs = input_tags(
        instance, [(key, day) for key in upstream_keys(PARTNER_EXPORT.qualified_name)]
    )
    read = [v for k, v in sorted(inputs.items()) if k.startswith(INPUT_DATA_VERSION_PREFIX)]
    return {
        DATA_VERSION_TAG: combine_versions(code_version, *read),
        CODE_VERSION_TAG: code_version,
        **inputs,
    }


def export_day(
    instance: dg.DagsterInstance,
    day: date,
    metadata: dict[str, Any],
    written: bool,
    description: str | None = None,
) -> dg.AssetMaterialization:
    """The day's own materialization of the export; only a day whose file was written carries
    provenance (a suppressed day wrote nothing, so it claims no inputs)."""
    return dg.AssetMaterialization(
        asset_key=EXPORT_KEY,
        partition=day.isoformat(),
        description=description,
        metadata=metadata,
        tags=export_provenance(instance, day) if written else None,
    )
