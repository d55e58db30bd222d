"""The one command a backfill's stage offers its reviewers next, for `status`, the report and
the evidence asset alike: approve only what awaits approval, never a cancelled, rejected or
published backfill."""

from __future__ import annotations

from dataclasses import dataclass

from finsight_assets.lib.backfills.stages import AWAITING_APPROVAL, CANCELLED, HELD


@dataclass(frozen=True)
class NextStep:
    """What to do (`what`, e.g. "To approve") and the command that does it."""

    what: str
    command: str

    @property
    def verb(self) -> str:
        """The `finsight backfill` command it runs: approve, publish or reject."""
        return self.command.split()[2]


def next_step(manifest_id: str, stage: str | None, evidence_digest: str | None) -> NextStep | None:
    """The command the backfill's stage offers, or None (nothing to approve or publish)."""
    if evidence_digest is None:
        return None
    if stage == AWAITING_APPROVAL:
        return NextStep(
            "To approve",
            f"finsight backfill approve {manifest_id} --evidence {evidence_digest}",
        )
    if stage == HELD:
        return NextStep("To publish (approved)", f"finsight backfill publish {manifest_id}")
    if stage == CANCELLED:
        return NextStep(
            "To discard what it still holds (a cancelled backfill is not approved)",
            f'finsight backfill reject {manifest_id} --reason "cancelled"',
        )
    return None
