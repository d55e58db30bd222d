"""History within bounds: pruning deletes the rows of old replaced versions, never one a
rollback could still restore."""

from __future__ import annotations

from datetime import timedelta

from finsight_assets.lib.contract.run_tags import BACKFILL
from finsight_assets.lib.tables.silver_customers import SILVER_CUSTOMERS
from finsight_assets.lib.wap import publish, retention
from finsight_assets.lib.wap.model import RunInfo
from finsight_assets.lib.wap.rollback import rollback
from finsight_assets_tests.lib.wap.test_publish import (
    CLOCK,
    DAY,
    OTHER_DAY,
    candidates,
    publish_customers,
    run,
    table_rows,
    warehouse,  # noqa: F401 (the fixture)
)

LATER = CLOCK + timedelta(days=1)


def kept(wh) -> set[str]:
    """The replaced versions whose rows are kept (the versions table's, but the current ones)."""
    rows = wh.fetchall(
        "SELECT DISTINCT _version_id FROM versions.silver__customers "
        "WHERE _version_id NOT IN (SELECT version_id FROM audit.current_versions)"
    )
    return {r[0] for r in rows}


def backfill(wh, manifest_id: str, day, *customers):
    _, published = publish.write_audit_publish(
        wh,
        SILVER_CUSTOMERS,
        RunInfo(run_id=f"run-{manifest_id}", mode=BACKFILL, clock=CLOCK, manifest_id=manifest_id),
        "1",
        {day: f"input-{manifest_id}"},
        candidates(day, *customers),
        checks=[],
    )
    return published.versions


def test_only_versions_no_rollback_needs_are_pruned(warehouse):  # noqa: F811
    _, (v1,) = publish_customers(warehouse, "r1", DAY, ("C1", "RETAIL"))
    _, (v2,) = publish_customers(warehouse, "r2", DAY, ("C1", "SMB"))
    _, (v3,) = publish_customers(warehouse, "r3", DAY, ("C1", "CORPORATE"))
    assert retention.prunable(warehouse, CLOCK - timedelta(days=1)) == []
    old = retention.prunable(warehouse, LATER)
    # v2 stays: the current v3 replaced it, so rolling v3 back restores it.
    assert [v.version_id for v in old] == [v1.version_id]
    assert retention.prune(warehouse, old, LATER) == {"silver.customers": 1}
    assert kept(warehouse) == {v2.version_id}
    assert retention.prunable(warehouse, LATER) == []
    rollback(warehouse, SILVER_CUSTOMERS, [v3.version_id], run("undo"))
    assert [r[3] for r in table_rows(warehouse)] == ["SMB"]


def test_what_a_backfill_with_a_current_version_replaced_is_kept(warehouse):  # noqa: F811
    publish_customers(warehouse, "r0", OTHER_DAY, ("C9", "RETAIL"))
    _, (v1,) = publish_customers(warehouse, "r1", DAY, ("C1", "RETAIL"))
    (b1,) = backfill(warehouse, "bf-1", DAY, ("C1", "SMB"))
    backfill(warehouse, "bf-1", OTHER_DAY, ("C9", "SMB"))
    publish_customers(warehouse, "r2", DAY, ("C1", "CORPORATE"))
    # bf-1 is still current on OTHER_DAY: its rollback would restore v1 on DAY (with --force).
    assert v1.version_id not in {v.version_id for v in retention.prunable(warehouse, LATER)}
    assert b1.version_id not in {v.version_id for v in retention.prunable(warehouse, LATER)}


def test_the_prune_command_deletes_and_says_what(home):
    import json

    from typer.testing import CliRunner

    from finsight_assets.cli.main import app
    from finsight_assets.lib.engines.duckdb_warehouse import duckdb_connector
    from finsight_assets.lib.settings import Settings

    with duckdb_connector(Settings.from_env().warehouse_path)() as wh:
        for run_id, segment in (("r1", "RETAIL"), ("r2", "SMB"), ("r3", "CORPORATE")):
            publish_customers(wh, run_id, DAY, ("C1", segment))
    runner = CliRunner()
    looked = runner.invoke(app, ["backfill", "prune-history", "--dry-run", "--json"])
    assert looked.exit_code == 0, looked.output
    assert len(json.loads(looked.output)["versions"]) == 1
    pruned = runner.invoke(app, ["backfill", "prune-history", "--older-than-days", "30", "--json"])
    assert json.loads(pruned.output)["rows_deleted"] == {"silver.customers": 1}
    again = runner.invoke(app, ["backfill", "prune-history", "--json"])
    assert json.loads(again.output)["versions"] == []
