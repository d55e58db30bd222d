"""The fault suite's short variant in `make test`: three kill -9 trials (`make faults` runs 20),
aimed inside the windows that matter: a held backfill's run while Spark stages, its approval's
publish and a rollback while the warehouse writes."""

from __future__ import annotations

from finsight_assets_tests.faults.crash import summary, trials


def test_three_operations_killed_mid_write_lose_nothing_and_recover(tmp_path):
    lines: list[str] = []
    done = trials(
        3,
        seed=7,
        workdir=tmp_path,
        kinds=("backfill", "approve", "rollback"),
        aim_offset=1,
        emit=lines.append,
    )
    report = "\n".join([*lines, summary(done)])
    assert [(t.kind, t.aim) for t in done] == [
        ("backfill", "staging"),
        ("approve", "writing"),
        ("rollback", "writing"),
    ]
    assert all(t.killed for t in done), report
    assert not [t.problems for t in done if t.problems], report
