"""The stale windows, interleaved on purpose: a raw re-delivery landing between silver's input
check and its publish lock; silver republished and rolled back while gold computes (restored
after gold's read, or just before its publish lock), on DuckDB and on the Snowflake flavour; a
Snowflake publish lock held by a transaction that never ends (a killed worker's).

    python -m finsight_assets_tests.faults.stale_windows [--workdir DIR]

Each scenario is its test in finsight_assets_tests (the same code, called with its fixtures'
values); prints one summary line per scenario and exits non-zero if an invariant broke.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from finsight_assets.lib.engines.duckdb_warehouse import duckdb_connector
from finsight_assets.lib.engines.snowflake_warehouse import SESSION_PARAMETERS
from finsight_assets.lib.engines.spark_config import LOCAL_SPARK_CONFIG
from finsight_assets_tests.fakesnowflake import fake_snowflake
from finsight_assets_tests.lib.layers.test_gold_pinned_inputs import (
    test_gold_never_publishes_from_a_silver_version_republished_and_rolled_back_under_it as gold,
)
from finsight_assets_tests.lib.layers.test_stale_input import (
    test_a_delivery_landing_between_the_input_check_and_the_lock_does_not_publish as silver,
)
from finsight_assets_tests.prod.test_snowflake_lock_wait import SHORT_WAIT
from finsight_assets_tests.prod.test_snowflake_lock_wait import (
    test_a_lock_held_by_an_open_transaction_is_waited_out_then_warehouse_busy as lock_held,
)


@contextmanager
def duckdb(folder: Path) -> Iterator[Callable]:
    yield duckdb_connector(folder / "warehouse.duckdb")


@contextmanager
def snowflake(folder: Path, lock_timeout: int | None = None) -> Iterator[Callable]:
    with pytest.MonkeyPatch.context() as patch:
        if lock_timeout is not None:
            patch.setitem(SESSION_PARAMETERS, "LOCK_TIMEOUT", lock_timeout)
        with fake_snowflake(folder, patch) as connect:
            yield connect


def scenarios() -> list[tuple[str, Callable[[Path], None]]]:
    def silver_redelivery(folder: Path) -> None:
        from pyspark.sql import SparkSession

        builder = SparkSession.builder
        for key, value in LOCAL_SPARK_CONFIG.items():
            builder = builder.config(key, value)
        silver(builder.getOrCreate(), folder)

    def gold_on(engine, after_stage: bool) -> Callable[[Path], None]:
        def scenario(folder: Path) -> None:
            with engine(folder) as connect:
                gold(connect, after_stage)

        return scenario

    def lock_held_on_snowflake(folder: Path) -> None:
        with snowflake(folder, SHORT_WAIT) as connect:
            lock_held(connect)

    after, before = "restored after gold read it", "restored before gold's lock"
    return [
        ("silver: raw re-delivery between the input check and the lock", silver_redelivery),
        (f"gold on duckdb: silver republished, {after}", gold_on(duckdb, True)),
        (f"gold on duckdb: silver republished, {before}", gold_on(duckdb, False)),
        (f"gold on snowflake: silver republished, {after}", gold_on(snowflake, True)),
        (f"gold on snowflake: silver republished, {before}", gold_on(snowflake, False)),
        ("snowflake: publish lock held by a transaction that never ends", lock_held_on_snowflake),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="finsight-stale-windows-"))
    broken = 0
    for i, (name, scenario) in enumerate(scenarios()):
        folder = workdir / f"scenario-{i}"
        folder.mkdir(parents=True, exist_ok=True)
        try:
            scenario(folder)
            print(f"{name}: held")  # noqa: T201 (the suite's output)
        except Exception as error:  # any failure is a broken invariant, reported by name
            broken += 1
            print(f"{name}: BROKEN: {type(error).__name__}: {error}".splitlines()[0])  # noqa: T201
    print(f"stale windows: {len(scenarios()) - broken} held, {broken} broken")  # noqa: T201
    if broken:
        raise SystemExit(1)
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
