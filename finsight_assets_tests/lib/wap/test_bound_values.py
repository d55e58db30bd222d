"""Values reach SQL as bound parameters: text holding quotes, backslashes and semicolons is
stored verbatim and never executed, on DuckDB and on the Snowflake flavour; run tags that are
not manifest ids are refused where they enter."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from finsight_assets.lib.contract.run_tags import MANIFEST_TAG, manifest_id_of
from finsight_assets.lib.engines.warehouse import string_literal
from finsight_assets.lib.tables.silver_customers import SILVER_CUSTOMERS
from finsight_assets.lib.wap import publish
from finsight_assets.lib.wap.model import RunInfo
from finsight_assets.lib.wap.rollback import rollback
from finsight_assets.lib.wap.versions import get_versions
from finsight_assets_tests.lib.wap.test_publish import candidates

DAY = date(2025, 3, 3)
CLOCK = datetime(2025, 3, 5, 6, 0, tzinfo=UTC)
HOSTILE = [
    "r'; DROP TABLE silver.customers; --",
    "ends in a backslash \\",
    "\\'; DELETE FROM audit.current_versions; --",
    'double "quotes" and ; semicolons',
]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_is_stored_verbatim_and_never_executed(connect, text):
    with connect() as warehouse:
        run = RunInfo(run_id=text, mode="LIVE", clock=CLOCK)
        _, published = publish.write_audit_publish(
            warehouse,
            SILVER_CUSTOMERS,
            run,
            code_version=text,
            input_versions={DAY: text},
            candidate_sql=candidates(DAY, ("C1", "RETAIL")),
            checks=[],
        )
        (version,) = published.versions
        rollback(warehouse, SILVER_CUSTOMERS, [version.version_id], run, note=text)
        (stored,) = get_versions(warehouse, [version.version_id])
        assert (stored.run_id, stored.code_version, stored.input_version) == (text, text, text)
        notes = warehouse.fetchall(
            "SELECT run_id, note FROM audit.publish_log WHERE action = 'rollback'"
        )
        assert notes == [(text, text)]
        assert warehouse.fetchall("SELECT COUNT(*) FROM silver.customers") == [(0,)]
        assert warehouse.fetchall("SELECT COUNT(*) FROM audit.current_versions") == [(0,)]


@pytest.mark.parametrize("text", HOSTILE)
def test_a_run_tag_that_is_not_a_manifest_id_is_refused(text):
    with pytest.raises(ValueError, match="is not a manifest id"):
        manifest_id_of({MANIFEST_TAG: text})
    assert (
        manifest_id_of({MANIFEST_TAG: "bf-20250305-060000-a1b2c3"}) == "bf-20250305-060000-a1b2c3"
    )
    assert manifest_id_of({"dagster/backfill": "abcdefgh"}) == "ui-abcdefgh"


@pytest.mark.parametrize("text", HOSTILE)
def test_literals_refuse_what_engines_would_read_differently(text):
    if "'" in text or "\\" in text:
        with pytest.raises(ValueError, match="not a safe SQL literal"):
            string_literal(text)
    else:
        assert string_literal(text) == f"'{text}'"
