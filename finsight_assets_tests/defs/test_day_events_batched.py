"""A range's day materializations built with their upstream days fetched once per upstream
asset carry the very tags the day-by-day lookups give, with fewer event-log queries."""

from __future__ import annotations

from datetime import date, timedelta

from finsight_assets.cli.materialize import materialize_range, prepare_instance
from finsight_assets.defs.day_events import (
    day_materialization,
    day_materializations,
    published_state,
)
from finsight_assets.defs.resources.environment import lake_and_warehouse
from finsight_assets.dev.synthetic import generate_raw
from finsight_assets.lib.layers.raw_files import data_version
from finsight_assets.lib.settings import Settings
from finsight_assets.lib.tables.registry import TABLES
from finsight_assets.lib.wap.versions import current_versions, get_versions

START = date(2025, 3, 1)
DAYS = [START + timedelta(days=i) for i in range(3)]


def test_batched_day_materializations_carry_the_day_by_day_tags(home, monkeypatch):
    generate_raw(home / "lake", START, DAYS[-1], rows_per_day=200, seed=5)
    settings = Settings.from_env()
    assert [o.success for o in materialize_range(settings, DAYS[0], DAYS[-1])] == [True]
    instance = prepare_instance(settings)
    with (
        lake_and_warehouse(settings) as (lake_resource, resource),
        resource.connect() as connection,
    ):
        states = {
            table: [
                published_state(v, "daily", "a test")
                for v in sorted(
                    get_versions(
                        connection,
                        list(current_versions(connection, table.qualified_name, DAYS).values()),
                    ),
                    key=lambda v: v.business_date,
                )
            ]
            for table in TABLES
        }

    def raw_version(table: str, day: date) -> str:
        return data_version(lake_resource.get_lake().raw_files(table, day))

    queries = []
    for name in ("fetch_materializations", "fetch_observations"):
        real = getattr(instance, name)
        monkeypatch.setattr(
            instance, name, lambda *a, _r=real, **k: queries.append(1) or _r(*a, **k)
        )
    for table, days in states.items():
        assert len(days) == len(DAYS), table.qualified_name
        queries.clear()
        one_by_one = [day_materialization(instance, table, d, raw_version) for d in days]
        alone = len(queries)
        queries.clear()
        batched = list(day_materializations(instance, table, days, raw_version))
        assert [m.tags for m in batched] == [m.tags for m in one_by_one], table.qualified_name
        assert [m.metadata for m in batched] == [m.metadata for m in one_by_one]
        assert any(k.startswith("dagster/input_event_pointer") for k in batched[0].tags)
        assert len(queries) < alone or alone == 0, table.qualified_name
