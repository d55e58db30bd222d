"""The words of a backfill's lifecycle (`lifecycle.py` derives which applies; `approval.py`
refuses to review one still running or cancelled)."""

PLANNED = "planned"
# Its runs (or the completion of a UI backfill's scope) have not all ended.
RUNNING = "running"
# Its runs ended holding their partitions; the matrix's approvals of that evidence are missing.
AWAITING_APPROVAL = "awaiting approval"
# Approved, and still holding: the publish was interrupted or refused to start; `publish` again.
HELD = "held"
REJECTED = "rejected"
PUBLISHED = "published"
AUDITED = "audited (dry run)"
PARTIALLY_FAILED = "partially failed"
FAILED = "failed"
CANCELLED = "cancelled"
ROLLED_BACK = "rolled back"
# Launched, but Dagster could not be asked how it went.
LAUNCHED_UNKNOWN = "launched (Dagster unreachable)"
