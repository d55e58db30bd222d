"""The check registry: every declared check has a spec, a result and a verdict per partition, and
nothing reports a check that is not declared."""

from __future__ import annotations

from datetime import date

import dagster as dg
import pytest

from finsight_assets.defs.build import build_definitions
from finsight_assets.defs.checks import LIVE_CHECK, check_evaluations
from finsight_assets.dev.synthetic import generate_raw
from finsight_assets.lib.settings import Settings
from finsight_assets.lib.tables.registry import TABLES, TABLES_BY_NAME
from finsight_assets.lib.tables.silver_customers import SILVER_CUSTOMERS
from finsight_assets.lib.wap.checks import TABLE_CHECKS, UndeclaredCheck, checks_of
from finsight_assets.lib.wap.model import AuditResult
from finsight_assets_tests.pipeline import query, run_pipeline

FIRST = date(2025, 3, 1)
DAYS = [FIRST, date(2025, 3, 2)]


def test_every_table_declares_its_checks():
    assert set(TABLE_CHECKS) == set(TABLES_BY_NAME)
    for name, checks in TABLE_CHECKS.items():
        names = [c.name for c in checks]
        assert len(names) == len(set(names)), name
        assert all(c.description for c in checks)


def test_the_asset_check_specs_are_the_declared_checks(home):
    graph = build_definitions(Settings.from_env()).resolve_asset_graph()
    for table in TABLES:
        key = dg.AssetKey(table.qualified_name.split("."))
        specs = {
            spec.name: spec
            for spec in graph.get(key).assets_def.check_specs
            if spec.asset_key == key
        }
        declared = {c.name: c for c in checks_of(table.qualified_name)}
        # Beside the declared checks, every table has the `live` check (defs/checks.py).
        assert set(specs) == {*declared, LIVE_CHECK}, table.qualified_name
        assert not specs[LIVE_CHECK].blocking
        for name, check in declared.items():
            assert specs[name].blocking == check.blocking, name
            assert specs[name].description == check.description, name


def result(name: str) -> AuditResult:
    return AuditResult(name=name, passed=True, summary="ok")


def test_a_result_without_a_declaration_or_a_declaration_without_a_result_fails():
    declared = [result(c.name) for c in checks_of(SILVER_CUSTOMERS.qualified_name)]
    days = [date(2025, 3, 1), date(2025, 3, 2)]
    evaluations = check_evaluations(SILVER_CUSTOMERS, declared, days)
    assert sorted((e.check_name, e.partition) for e in evaluations) == sorted(
        (c.name, d.isoformat()) for c in declared for d in days
    )
    with pytest.raises(UndeclaredCheck, match="no result for"):
        check_evaluations(SILVER_CUSTOMERS, declared[1:], days)
    with pytest.raises(UndeclaredCheck, match="not declared"):
        check_evaluations(SILVER_CUSTOMERS, [*declared, result("made_up")], days)


def test_each_day_gets_its_own_verdict_and_figures():
    first, second = date(2025, 3, 1), date(2025, 3, 2)
    count = AuditResult(
        name="count_identity",
        passed=False,
        summary="one day off",
        metadata={"by_date": {first.isoformat(): {"raw": 10}, second.isoformat(): {"raw": 12}}},
        by_date={first: True, second: False},
    )
    others = [result(c.name) for c in checks_of(SILVER_CUSTOMERS.qualified_name)[1:]]
    assert checks_of(SILVER_CUSTOMERS.qualified_name)[0].name == "count_identity"
    evaluations = {
        (e.check_name, e.partition): e
        for e in check_evaluations(SILVER_CUSTOMERS, [count, *others], [first, second])
    }
    one, two = (
        evaluations["count_identity", "2025-03-01"],
        evaluations["count_identity", "2025-03-02"],
    )
    assert (one.passed, two.passed) == (True, False)
    assert one.metadata["figures"].value == {"raw": 10}
    assert two.metadata["figures"].value == {"raw": 12}


def test_a_run_records_a_verdict_of_every_declared_check_for_every_partition(engine, home):
    generate_raw(home / "lake", FIRST, DAYS[-1], rows_per_day=200, seed=11)
    results = run_pipeline(engine, home, DAYS, first=FIRST)
    recorded = query(
        home,
        "SELECT table_name, business_date, check_name FROM audit.check_results "
        "WHERE run_id = 'run-1'",
    )
    expected = {
        (table, d, check.name)
        for table, checks in TABLE_CHECKS.items()
        for check in checks
        for d in DAYS
    }
    assert set(recorded) == expected
    assert len(recorded) == len(expected)
    for layer in results.values():
        for table, audits in layer.audits.items():
            assert [a.name for a in audits] == [c.name for c in checks_of(table)]
            assert [a.blocking for a in audits] == [c.blocking for c in checks_of(table)]
