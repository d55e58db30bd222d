"""The held publish and the rollback under attack, each scenario against a fresh home:

    python -m finsight_assets_tests.faults.held_publish

Held rows edited after the evidence digest; a hold landing between approve's digest check and
the publish, or between the held-list read and a unit's lock (DuckDB and the Snowflake
flavour); an approval while Dagster cannot say whether runs still hold; a publish killed
between units, then finished; prune-history then two rollbacks in turn; a pruned or edited
version to restore; a day built on the backfill while its rollback waited for its lock.

Each scenario is the test of the same name run outside pytest; prints one summary line per
scenario and exits non-zero if an invariant broke.
"""

from __future__ import annotations

import inspect
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from finsight_assets.lib.engines.duckdb_warehouse import duckdb_connector
from finsight_assets_tests.fakesnowflake import fake_snowflake
from finsight_assets_tests.held import home_backfills
from finsight_assets_tests.lib.backfills import test_held_approval as approval
from finsight_assets_tests.lib.backfills import test_rollback_verified as rollback
from finsight_assets_tests.lib.wap import test_held_publish as held

# (summary label, the test, the engine its `connect` opens, how its `backfills` are opened)
SCENARIOS: list[tuple[str, Callable[..., None], str, Callable[[], object]]] = [
    (
        "held rows updated after the digest, approved",
        approval.test_held_rows_updated_after_the_digest_are_refused_by_name_and_nothing_goes_live,
        "duckdb",
        approval.loaded_backfills,
    ),
    (
        "hold between approve's digest check and the publish",
        approval.test_a_hold_between_approves_digest_check_and_the_publish_is_not_published,
        "duckdb",
        approval.loaded_backfills,
    ),
    (
        "approval while Dagster is unreachable",
        approval.test_approval_waits_while_dagster_cannot_say_whether_runs_still_hold,
        "duckdb",
        approval.loaded_backfills,
    ),
    (
        "publish killed between units, then finished",
        approval.test_a_publish_stopped_between_units_is_finished_without_reapproval_and_nothing_more,
        "duckdb",
        approval.loaded_backfills,
    ),
    *(
        (
            f"hold between the held-list read and a unit's lock ({engine})",
            held.test_a_hold_between_the_held_list_read_and_the_units_lock_is_not_published_empty,
            engine,
            home_backfills,
        )
        for engine in ("duckdb", "snowflake")
    ),
    *(
        (
            f"held rows edited, published ({engine})",
            held.test_held_rows_edited_after_they_were_held_are_refused_by_name_and_nothing_changes,
            engine,
            home_backfills,
        )
        for engine in ("duckdb", "snowflake")
    ),
    (
        "prune-history, then two backfills rolled back in turn",
        rollback.test_prune_history_then_two_backfills_rolled_back_in_turn_restores_the_first_rows,
        "duckdb",
        home_backfills,
    ),
    (
        "rollback onto a pruned version",
        rollback.test_a_rollback_whose_version_was_pruned_refuses_naming_it_and_changes_nothing,
        "duckdb",
        home_backfills,
    ),
    (
        "rollback onto replaced rows edited by hand",
        rollback.test_a_rollback_onto_replaced_rows_edited_behind_the_codes_back_refuses,
        "duckdb",
        home_backfills,
    ),
    (
        "a day built on the backfill while its rollback waited",
        rollback.test_a_rollback_sees_a_day_built_on_the_backfill_while_it_waited_for_its_lock,
        "duckdb",
        home_backfills,
    ),
]


@contextmanager
def fresh_home(engine: str) -> Iterator[dict[str, object]]:
    """The fixtures a scenario asks for, over a fresh FINSIGHT_HOME (as conftest.py gives)."""
    with (
        tempfile.TemporaryDirectory(prefix="finsight-held-faults-") as scratch,
        pytest.MonkeyPatch.context() as patch,
    ):
        tmp_path = Path(scratch)
        patch.setenv("FINSIGHT_HOME", str(tmp_path / "finsight"))
        patch.setenv("FINSIGHT_START_DATE", "2025-03-01")
        patch.delenv("FINSIGHT_ENV", raising=False)
        fixtures: dict[str, object] = {"tmp_path": tmp_path, "monkeypatch": patch}
        if engine == "snowflake":
            with fake_snowflake(tmp_path, patch) as connect:
                yield {**fixtures, "connect": connect}
        else:
            yield {**fixtures, "connect": duckdb_connector(tmp_path / "warehouse.duckdb")}


def run_scenario(test: Callable[..., None], engine: str, backfills: Callable[[], object]) -> None:
    with fresh_home(engine) as fixtures:
        wanted = inspect.signature(test).parameters
        if "backfills" in wanted:
            fixtures["backfills"] = backfills()
        if "allowed" in wanted:
            fixtures["allowed"] = True
        test(**{name: fixtures[name] for name in wanted})


def main() -> int:
    # As pytest's configuration does (pyproject.toml): fakesnow's Arrow copy is expected.
    warnings.filterwarnings("ignore", "Arrow output on a DB-API result", UserWarning)
    broken = 0
    for label, test, engine, backfills in SCENARIOS:
        started = time.monotonic()
        try:
            run_scenario(test, engine, backfills)
            verdict = "held"
        except Exception as error:  # an invariant broke, or the scenario could not run: say it
            broken += 1
            verdict = f"BROKEN: {type(error).__name__}: {' '.join(str(error).split())[:300]}"
        sys.stdout.write(f"held publish | {label}: {verdict} ({time.monotonic() - started:.1f}s)\n")
        sys.stdout.flush()
    total = len(SCENARIOS)
    sys.stdout.write(f"held publish | {total - broken} of {total} scenario(s) held\n")
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
