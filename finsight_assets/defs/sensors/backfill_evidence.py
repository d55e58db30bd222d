"""Each backfill's evidence reported as its partition of operations/backfill_evidence, once its
runs end and again whenever its stage or evidence changes."""

from __future__ import annotations

import json

import dagster as dg

from finsight_assets.defs.evidence import MANIFEST_PARTITIONS, evidence_materialization
from finsight_assets.defs.resources.local import LakeResource, WarehouseResource
from finsight_assets.defs.sensors.ticks import sensor_backfills, warehouse_sensor
from finsight_assets.lib.backfills import lifecycle
from finsight_assets.lib.backfills.manifests import ManifestError
from finsight_assets.lib.backfills.progress import TERMINAL_BACKFILL_STATES
from finsight_assets.lib.engines.webserver import DagsterApiError, WebserverUnavailable
from finsight_assets.lib.settings import Settings

# How many of the newest Dagster backfills each tick looks at.
RECENT_BACKFILLS = 50
EVIDENCE_INTERVAL_SECONDS = 30


def build_backfill_evidence(settings: Settings) -> dg.SensorDefinition:
    @warehouse_sensor(
        "backfill_evidence",
        "Reports each backfill's evidence (report, chart, stage, the one command its "
        "stage offers) as its partition of operations/backfill_evidence once its runs end, and "
        "again whenever its stage or evidence changes.",
        EVIDENCE_INTERVAL_SECONDS,
    )
    def backfill_evidence(
        context: dg.SensorEvaluationContext, lake: LakeResource, warehouse: WarehouseResource
    ):
        # Per manifest, what its last report showed (stage, evidence, Dagster statuses).
        reported: dict[str, str] = json.loads(context.cursor or "{}")
        recent = {
            b.backfill_id: b.status.value
            for b in context.instance.get_backfills(limit=RECENT_BACKFILLS)
        }
        backfills = sensor_backfills(settings, lake, warehouse)
        events: list[dg.AssetMaterialization] = []
        checked: dict[str, str] = {}
        try:
            for manifest in backfills.store.list():
                ids = backfills.store.backfill_ids(manifest.id)
                statuses = [recent[i] for i in ids if i in recent]
                if not statuses or not set(statuses) <= TERMINAL_BACKFILL_STATES:
                    continue
                now = lifecycle.standing(backfills, manifest.id)
                fingerprint = f"{now.stage}|{now.evidence_digest}|{statuses}"
                checked[manifest.id] = fingerprint
                if reported.get(manifest.id) != fingerprint:
                    events.append(evidence_materialization(backfills, manifest.id, now))
        except (WebserverUnavailable, DagsterApiError, ManifestError) as error:
            return dg.SkipReason(f"evidence not reported this tick: {error}")
        if not events:
            return dg.SkipReason("no backfill's evidence changed")
        keys = [e.partition for e in events if e.partition]
        context.instance.add_dynamic_partitions(MANIFEST_PARTITIONS.name, keys)
        # Only the manifests of recent backfills are looked at again: the cursor keeps theirs.
        return dg.SensorResult(asset_events=events, cursor=json.dumps(checked, sort_keys=True))

    return backfill_evidence
