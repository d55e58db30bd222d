"""Silver drops a source's outcome rows once they are counted, staged and searched for problems:
its audits and its publish run with the staged tables alone (a long backfill would otherwise hold,
or spill, every raw row twice through them), and every check still judges every day."""

from __future__ import annotations

from datetime import date

from finsight_assets.dev.synthetic import generate_raw
from finsight_assets.lib.wap import publish
from finsight_assets_tests.pipeline import run_pipeline

DAYS = [date(2025, 3, 3), date(2025, 3, 4)]


def test_the_audits_run_after_the_outcome_rows_are_dropped(engine, tmp_path, monkeypatch):
    generate_raw(tmp_path / "lake", DAYS[0], DAYS[-1], rows_per_day=300, seed=5)
    seen: dict[str, list[str]] = {}
    audit = publish.audit

    def audit_seeing_the_temporary_tables(warehouse, staged, *args, **kwargs):
        seen[staged.table.qualified_name] = [
            name
            for (name,) in warehouse.fetchall(
                "SELECT table_name FROM duckdb_tables() WHERE temporary ORDER BY 1"
            )
        ]
        return audit(warehouse, staged, *args, **kwargs)

    monkeypatch.setattr(publish, "audit", audit_seeing_the_temporary_tables)
    results = run_pipeline(engine, tmp_path, DAYS)

    # Each source's result holds the audits of each of its tables.
    sources = {
        "silver.transactions": "silver.transactions",
        "silver.transactions_rejected": "silver.transactions",
        "silver.customers": "silver.customers",
    }
    for table, source in sources.items():
        assert seen[table], table
        assert not [name for name in seen[table] if "_outcomes_" in name], (table, seen[table])
        assert any(name.startswith(f"{table.replace('.', '__')}__") for name in seen[table]), seen[
            table
        ]
        result = results[source]
        assert not result.failed
        assert {r.name for r in result.audits[table]} >= {"count_identity", "unique_key"}
        for audit_result in result.audits[table]:
            assert audit_result.passed, (table, audit_result)
            assert audit_result.by_date in (None, {d: True for d in DAYS}), (table, audit_result)
