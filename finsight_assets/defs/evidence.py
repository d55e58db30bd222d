"""Backfill evidence where reviewers look: one partition per manifest of an operations asset,
whose latest materialization carries the report (diffs, checks, money moved, the chart), the
backfill's stage and the one command its stage offers (approve only while it awaits approval;
reported by the `backfill_evidence` sensor, `sensors/backfill_evidence.py`)."""

from __future__ import annotations

import base64

import dagster as dg

from finsight_assets.lib.backfills import evidence as backfill_evidence
from finsight_assets.lib.backfills import lifecycle
from finsight_assets.lib.backfills.next_step import next_step
from finsight_assets.lib.backfills.operations import Backfills
from finsight_assets.lib.backfills.report.chart import chart_png
from finsight_assets.lib.backfills.report.markdown import render_markdown

MANIFEST_PARTITIONS = dg.DynamicPartitionsDefinition(name="backfill_manifests")
EVIDENCE_KEY = dg.AssetKey(["operations", "backfill_evidence"])
# The chart as the UI shows it: narrower than the report file's, to fit the metadata dialog.
UI_CHART_DPI = 80

evidence_asset = dg.AssetSpec(
    EVIDENCE_KEY,
    description="Each backfill's evidence, one partition per manifest: the report (diffs, "
    "checks, money moved, chart), its stage, and the one command its stage offers (approve "
    "only while it awaits approval).",
    partitions_def=MANIFEST_PARTITIONS,
    group_name="operations",
    kinds={"markdown"},
)


def evidence_markdown(backfills: Backfills, manifest_id: str, now: lifecycle.Standing) -> str:
    """The report's Markdown with its chart inline, as the UI renders it, as it stands `now`."""
    evidence = backfill_evidence.evidence(backfills, manifest_id, now)
    chart = base64.b64encode(chart_png(evidence, UI_CHART_DPI)).decode("ascii")
    return render_markdown(evidence, f"data:image/png;base64,{chart}")


def evidence_materialization(
    backfills: Backfills, manifest_id: str, now: lifecycle.Standing
) -> dg.AssetMaterialization:
    """The backfill's evidence, stage and the one command its stage offers (approve only
    while it awaits approval), as its partition's materialization."""
    digest = now.evidence_digest
    metadata: dict[str, object] = {
        "report": dg.MetadataValue.md(evidence_markdown(backfills, manifest_id, now)),
        "stage": now.stage,
    }
    if digest is not None:
        metadata["evidence_digest"] = digest
    step = next_step(manifest_id, now.stage, digest)
    if step is not None:
        metadata[step.verb] = dg.MetadataValue.text(step.command)
    return dg.AssetMaterialization(
        asset_key=EVIDENCE_KEY,
        partition=manifest_id,
        description=f"{manifest_id}: {now.stage}",
        metadata=metadata,
    )
