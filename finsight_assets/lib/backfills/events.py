"""The kinds of event a manifest's history records (`store.record`), as they are stored.

`lifecycle.py` derives a backfill's stage from them, `late_data.py` whether to plan it again,
`progress.py` when its runs started; changing a value here changes what stored histories mean.
"""

from __future__ import annotations

from dataclasses import dataclass

PLANNED = "planned"
APPROVED = "approved"
# An approved held publish started: the approved digest and its held versions (`held`), so an
# interrupted publish is finished by `publish` without another approval (`versions.py`).
PUBLISHING_HELD = "publishing_held"
# The approved held versions were published (`refused` lists what was not).
PUBLISHED_HELD = "published_held"
REJECTED = "rejected"
CANCELLED = "cancelled"
ROLLED_BACK = "rolled_back"
# One of the backfill's runs failed (recorded by the run-failure sensor).
RUN_FAILED = "run_failed"
# History rows no rollback needs were pruned (`history.py`): an operation on no one manifest,
# recorded under this id of its own, which no manifest takes (theirs begin `bf-` or `ui-`).
HISTORY_PRUNED = "history_pruned"
HISTORY_LOG = "history-retention"


@dataclass(frozen=True)
class Submission:
    """The events of one kind of submission: requested, done, and never received by Dagster."""

    what: str
    requested: str
    done: str
    not_submitted: str


LAUNCH = Submission("launch", "launch_requested", "launched", "launch_not_submitted")
RETRY = Submission("retry", "retry_requested", "retried", "retry_not_submitted")
COMPLETE = Submission(
    "completion", "completion_requested", "completion_launched", "completion_not_submitted"
)
LAUNCHED = LAUNCH.done
RETRIED = RETRY.done
REQUESTED = frozenset({LAUNCH.requested, RETRY.requested, COMPLETE.requested})
# The events that start runs.
STARTS_RUNS = (LAUNCH.done, RETRY.done, COMPLETE.done)
# A person's decision to leave the backfill alone.
LEFT_ALONE = frozenset({ROLLED_BACK, CANCELLED, REJECTED})
