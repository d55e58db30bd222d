"""The records of held versions (audit.held_versions): candidate versions a backfill that needs
approval keeps unpublished (`hold.py`), with what each was computed from."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from finsight_assets.lib.engines.warehouse import Warehouse, bound
from finsight_assets.lib.wap.audit_tables import HELD_VERSIONS, PARTITION_VERSIONS, insert
from finsight_assets.lib.wap.model import PartitionVersion

_VERSION_FIELDS = PARTITION_VERSIONS.column_names


@dataclass(frozen=True)
class HeldVersion:
    """A candidate version held for approval: `version.replaced_version_id` is the version it
    was computed against (it publishes only over that one), `version.published_at` when it
    was held; `sources` maps each source table to the version of the same day it was read."""

    version: PartitionVersion
    unit: str
    sources: Mapping[str, str]

    @property
    def evidence(self) -> Evidence:
        """What an approval of this held version names: its whole record, as JSON values."""
        v = self.version
        return (
            v.table_name,
            v.business_date.isoformat(),
            v.version_id,
            v.row_count,
            v.checksum,
            v.replaced_version_id,
            v.code_version,
            v.input_version,
            v.predecessor_version_id,
            self.unit,
            json.dumps(dict(self.sources), sort_keys=True),
        )


# A held version as approved (`HeldVersion.evidence`): table, date, version id, rows, checksum,
# replaced version, code version, input version, predecessor, publish unit, sources.
Evidence = tuple[str, str, str, int, str, str | None, str, str, str | None, str, str]


def as_evidence(entry: Sequence[object]) -> Evidence:
    """An evidence entry read back from JSON (a list) as the tuple `HeldVersion.evidence` is."""
    if len(entry) != len(Evidence.__args__):
        raise ValueError(f"not a held version's evidence: {entry!r}")
    return tuple(entry)  # type: ignore[return-value]


def record_held(warehouse: Warehouse, held: Sequence[HeldVersion]) -> None:
    insert(
        warehouse,
        HELD_VERSIONS,
        (
            [
                *(getattr(h.version, f) for f in _VERSION_FIELDS),
                h.unit,
                json.dumps(dict(h.sources), sort_keys=True),
            ]
            for h in held
        ),
    )


def held_versions(
    warehouse: Warehouse, manifest_id: str, table_name: str | None = None
) -> list[HeldVersion]:
    """The versions a manifest holds (of one table), by table and date."""
    where, params = "manifest_id = ?", [manifest_id]
    if table_name is not None:
        where, params = f"{where} AND table_name = ?", [*params, table_name]
    rows = warehouse.fetchall(
        f"SELECT {', '.join(HELD_VERSIONS.column_names)} FROM {HELD_VERSIONS.name} "
        f"WHERE {where} ORDER BY table_name, business_date",
        params,
    )
    n = len(_VERSION_FIELDS)
    return [
        HeldVersion(
            PartitionVersion(**dict(zip(_VERSION_FIELDS, row[:n], strict=True))),
            row[n],
            json.loads(row[n + 1]),
        )
        for row in rows
    ]


def forget_held(warehouse: Warehouse, version_ids: Sequence[str]) -> None:
    if version_ids:
        listed, params = bound(sorted(version_ids))
        warehouse.execute(
            f"DELETE FROM {HELD_VERSIONS.name} WHERE version_id IN ({listed})", params
        )
