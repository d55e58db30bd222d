"""Backfill evidence where reviewers look: one partition per manifest of an operations asset,
whose latest materialization carries the report (diffs, checks, money moved, the chart), the
backfill's stage and, while it is held, the command that approves it."""

from __future__ import annotations

import base64
import json

import dagster as dg

from finsight_assets.defs.resources.local import LakeResource, WarehouseResource
from finsight_assets.defs.sensors import sensor_backfills, skips_while_warehouse_busy
from finsight_assets.lib.backfills import lifecycle
from finsight_assets.lib.backfills.manifests import ManifestError
from finsight_assets.lib.backfills.operations import Backfills
from finsight_assets.lib.backfills.progress import TERMINAL_BACKFILL_STATES
from finsight_assets.lib.backfills.report.chart import chart_png
from finsight_assets.lib.backfills.report.markdown import render_markdown
from finsight_assets.lib.backfills.webserver import DagsterApiError, WebserverUnavailable
from finsight_assets.lib.settings import Settings

MANIFEST_PARTITIONS = dg.DynamicPartitionsDefinition(name="backfill_manifests")
EVIDENCE_KEY = dg.AssetKey(["operations", "backfill_evidence"])
# The chart as the UI shows it: narrower than the report file's, to fit the metadata dialog.
UI_CHART_DPI = 80
# How many of the newest Dagster backfills each tick looks at.
RECENT_BACKFILLS = 50
EVIDENCE_INTERVAL_SECONDS = 30

evidence_asset = dg.AssetSpec(
    EVIDENCE_KEY,
    description="Each backfill's evidence, one partition per manifest: the report (diffs, "
    "checks, money moved, chart), its stage, and the command that approves it while held.",
    partitions_def=MANIFEST_PARTITIONS,
    group_name="operations",
    kinds={"markdown"},
)


def evidence_markdown(backfills: Backfills, manifest_id: str) -> str:
    """The report's Markdown with its chart inline, as the UI renders it."""
    evidence = backfills.evidence(manifest_id)
    chart = base64.b64encode(chart_png(evidence, UI_CHART_DPI)).decode("ascii")
    return render_markdown(evidence, f"data:image/png;base64,{chart}")


def _materialization(
    backfills: Backfills, manifest_id: str, now: lifecycle.Standing
) -> dg.AssetMaterialization:
    digest = now.evidence_digest
    metadata: dict[str, object] = {
        "report": dg.MetadataValue.md(evidence_markdown(backfills, manifest_id)),
        "stage": now.stage,
    }
    if digest is not None:
        metadata["evidence_digest"] = digest
        metadata["approve"] = dg.MetadataValue.text(
            f"finsight backfill approve {manifest_id} --evidence {digest}"
        )
    return dg.AssetMaterialization(
        asset_key=EVIDENCE_KEY,
        partition=manifest_id,
        description=f"{manifest_id}: {now.stage}",
        metadata=metadata,
    )


def build_evidence_sensor(settings: Settings) -> dg.SensorDefinition:
    @dg.sensor(
        name="backfill_evidence",
        minimum_interval_seconds=EVIDENCE_INTERVAL_SECONDS,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Reports each backfill's evidence (report, chart, stage, the approve "
        "command) as its partition of operations/backfill_evidence once its runs end, and "
        "again whenever its stage or evidence changes.",
    )
    @skips_while_warehouse_busy
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
                    events.append(_materialization(backfills, manifest.id, now))
        except (WebserverUnavailable, DagsterApiError, ManifestError) as error:
            return dg.SkipReason(f"evidence not reported this tick: {error}")
        if not events:
            return dg.SkipReason("no backfill's evidence changed")
        keys = [e.partition for e in events if e.partition]
        context.instance.add_dynamic_partitions(MANIFEST_PARTITIONS.name, keys)
        # Only the manifests of recent backfills are looked at again: the cursor keeps theirs.
        return dg.SensorResult(asset_events=events, cursor=json.dumps(checked, sort_keys=True))

    return backfill_evidence
