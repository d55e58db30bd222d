"""A backfill's report on disk: `backfill-<id>.md` beside the `backfill-<id>.png` it embeds."""

from __future__ import annotations

import logging
import re
from pathlib import Path

from finsight_assets.lib.backfills.manifests import Manifest
from finsight_assets.lib.backfills.report.chart import render_chart
from finsight_assets.lib.backfills.report.markdown import render_markdown
from finsight_assets.lib.backfills.report.model import BackfillEvidence

logger = logging.getLogger(__name__)


def _file_stem(manifest: Manifest) -> str:
    """`backfill-<id>`, with anything but letters, digits, dot, dash and underscore replaced."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", manifest.id or "unknown")
    return f"backfill-{safe}"


def write_report(evidence: BackfillEvidence, out_dir: Path) -> tuple[Path, Path]:
    """Write `backfill-<id>.md` and `backfill-<id>.png` into `out_dir` (created if missing).

    Returns the Markdown path and the PNG path; the Markdown embeds the PNG by relative name.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = _file_stem(evidence.manifest)
    chart = render_chart(evidence, out_dir / f"{stem}.png")
    markdown = out_dir / f"{stem}.md"
    markdown.write_text(render_markdown(evidence, chart.name), encoding="utf-8")
    logger.info("Wrote backfill report %s and chart %s", markdown, chart)
    return markdown, chart
