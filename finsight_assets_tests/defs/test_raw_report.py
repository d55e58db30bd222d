"""The raw observation recorded without a run, as `finsight materialize` does: the very events
the `observe_raw` job logs, and a day reported again only when its files change."""

from __future__ import annotations

import shutil
from datetime import date, timedelta

import dagster as dg
import pytest

from finsight_assets.cli.materialize import materialize_range, prepare_instance
from finsight_assets.defs.build import build_definitions
from finsight_assets.defs.partitions import daily_partitions
from finsight_assets.defs.raw.report import report_raw
from finsight_assets.dev.synthetic import generate_raw
from finsight_assets.lib.contract.tables import RAW_TABLES
from finsight_assets.lib.engines.lake import LocalLake
from finsight_assets.lib.layers.raw_files import NO_DATA_VERSION, data_version
from finsight_assets.lib.settings import Settings

S = date(2025, 3, 1)
KEYS = daily_partitions(S).get_partition_keys()


def day(n: int) -> date:
    return S + timedelta(days=n)


@pytest.fixture
def lake(home) -> LocalLake:
    """Five days delivered, the third day's transactions withdrawn."""
    generate_raw(home / "lake", S, day(4), rows_per_day=50, seed=3)
    shutil.rmtree(home / "lake" / "raw" / "transactions" / f"business_date={day(2)}")
    return LocalLake(home / "lake")


def raw_events(instance: dg.DagsterInstance) -> list[tuple]:
    """Every raw event: its table, kind, day, description, metadata and tags."""
    found = []
    for table in RAW_TABLES:
        key = dg.AssetKey(["raw", table])
        kinds = (("landed", instance.fetch_materializations), ("seen", instance.fetch_observations))
        for kind, fetch in kinds:
            for record in fetch(key, limit=1000).records:
                event = record.asset_event
                metadata = {label: value.value for label, value in event.metadata.items()}
                found.append(
                    (table, kind, event.partition, event.description, repr(metadata), event.tags)
                )
    return sorted(found, key=repr)


def day_events(instance: dg.DagsterInstance, table: str, partition: date) -> list:
    """The events of one raw day, newest first."""
    key = dg.AssetKey(["raw", table])
    records_filter = dg.AssetRecordsFilter(asset_key=key, asset_partitions=[partition.isoformat()])
    records = [
        *instance.fetch_materializations(records_filter, limit=100).records,
        *instance.fetch_observations(records_filter, limit=100).records,
    ]
    return sorted(records, key=lambda r: -r.storage_id)


def test_the_report_records_the_events_the_observe_raw_job_logs_without_a_run(home, lake):
    in_run = dg.DagsterInstance.ephemeral()
    job = build_definitions(Settings.from_env()).resolve_job_def("observe_raw")
    assert job.execute_in_process(instance=in_run).success
    runless = dg.DagsterInstance.ephemeral()
    report_raw(runless, lake, KEYS)
    assert raw_events(runless) == raw_events(in_run)
    assert len(raw_events(runless)) == 3 * 5 + 3  # a day each, a summary each
    assert runless.get_runs() == []
    (gap,) = day_events(runless, "transactions", day(2))
    assert gap.asset_observation.tags["dagster/data_version"] == NO_DATA_VERSION


def test_a_day_is_reported_again_only_when_its_files_change(home, lake):
    instance = dg.DagsterInstance.ephemeral()
    report_raw(instance, lake, KEYS)
    first = {(t, n): day_events(instance, t, day(n)) for t in RAW_TABLES for n in range(5)}
    assert all(len(events) == 1 for events in first.values())

    report_raw(instance, lake, KEYS)
    again = {(t, n): day_events(instance, t, day(n)) for t in RAW_TABLES for n in range(5)}
    assert again == first

    # A re-delivery: one more file in the second day of transactions.
    folder = home / "lake" / "raw" / "transactions"
    added = folder / f"business_date={day(1)}" / "part-late.parquet"
    shutil.copy(next((folder / f"business_date={day(0)}").glob("*.parquet")), added)
    # A withdrawal: the fourth day of customers.
    withdrawn = folder.parent / "customers" / f"business_date={day(3)}"
    shutil.move(withdrawn, home / "withdrawn")
    report_raw(instance, lake, KEYS)
    changed = {
        (t, n): events for t, n in first if len(events := day_events(instance, t, day(n))) > 1
    }
    assert sorted(changed) == [("customers", 3), ("transactions", 1)]
    redelivered = changed[("transactions", 1)][0].asset_materialization
    assert redelivered.tags["dagster/data_version"] == data_version(
        lake.raw_files("transactions", day(1))
    )
    assert changed[("customers", 3)][0].asset_observation.tags["dagster/data_version"] == (
        NO_DATA_VERSION
    )

    # The same files back after the gap: the day is a landed day again, at its old version.
    shutil.move(home / "withdrawn", withdrawn)
    report_raw(instance, lake, KEYS)
    newest, gap, old = day_events(instance, "customers", day(3))
    assert newest.asset_materialization is not None
    assert newest.asset_materialization.tags == old.asset_materialization.tags
    assert gap.asset_observation is not None


def test_materialize_records_the_raw_days_without_a_run_of_its_own(home):
    generate_raw(home / "lake", S, day(1), rows_per_day=200, seed=3)
    settings = Settings.from_env()
    (outcome,) = materialize_range(settings, S, day(1))
    assert outcome.success
    instance = prepare_instance(settings)
    assert [run.run_id for run in instance.get_runs()] == [outcome.run_id]
    for table in RAW_TABLES:
        for n in range(2):
            (landed,) = day_events(instance, table, day(n))
            assert landed.run_id == ""
            assert landed.asset_materialization.tags["dagster/data_version"] == data_version(
                LocalLake(home / "lake").raw_files(table, day(n))
            )


def test_a_report_reads_the_footers_of_changed_days_only(home, lake, monkeypatch):
    from finsight_assets.lib.layers import raw_files

    read = []
    real = raw_files.read_footer
    monkeypatch.setattr(raw_files, "read_footer", lambda lk, uri: read.append(uri) or real(lk, uri))
    instance = dg.DagsterInstance.ephemeral()
    report_raw(instance, lake, KEYS)
    every_file = [
        f.uri for t in RAW_TABLES for files in lake.raw_partitions(t).values() for f in files
    ]
    assert sorted(read) == sorted(every_file)
    read.clear()
    report_raw(instance, lake, KEYS)
    assert read == []
    folder = home / "lake" / "raw" / "transactions"
    added = folder / f"business_date={day(1)}" / "part-late.parquet"
    shutil.copy(next((folder / f"business_date={day(0)}").glob("*.parquet")), added)
    report_raw(instance, lake, KEYS)
    assert sorted(read) == sorted(f.uri for f in lake.raw_files("transactions", day(1)))
