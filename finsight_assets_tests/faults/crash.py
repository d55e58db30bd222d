"""Crash trials: kill -9 the whole process group of an operation at a random moment, then check
that nothing was lost or mixed, and that running it again converges.

    python -m finsight_assets_tests.faults.crash [--trials 20] [--seed 1] [--workdir DIR]

Prints one line per trial and a summary line with the counts; exits non-zero if any failed.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from finsight_assets_tests.faults import state
from finsight_assets_tests.faults.operation import environment

# Each operation, in the order they build on each other: a trial of one starts from the state
# the operations before it left.
OPERATIONS = ("materialize", "backfill", "approve", "rollback")
OPERATION_TIMEOUT_SECONDS = 600
# How often a trial looks for its aim. A publish, an approval and a rollback write only pointer
# rows now (each row is written once, when it is staged or held): the WAL lives from a commit to
# its checkpoint, a few milliseconds, so the look must be quicker than that.
POLL_SECONDS = 0.001


def run(
    kind: str,
    home: Path,
    kill_after: float | None = None,
    kill_when: Callable[[Path], bool] | None = None,
    extra_env: Mapping[str, str] | None = None,
) -> tuple[int | None, float]:
    """Run an operation in a new process group; kill the group with SIGKILL once `kill_when`
    holds for the home, or after `kill_after` seconds, if it is still running. Returns its exit
    code (None: killed) and the seconds taken."""
    log = (home.parent / f"{home.name}-{kind}.log").open("ab")
    started = time.monotonic()
    deadline = started + (kill_after if kill_after is not None else OPERATION_TIMEOUT_SECONDS)
    child = subprocess.Popen(
        [sys.executable, "-m", "finsight_assets_tests.faults.operation", kind, str(home)],
        env={**environment(home), **(extra_env or {})},
        stdout=log,
        stderr=log,
        start_new_session=True,
    )
    try:
        while child.poll() is None:
            now = time.monotonic()
            if now >= deadline or (kill_when is not None and kill_when(home)):
                os.killpg(child.pid, signal.SIGKILL)
                child.wait()
                _reap(child.pid)
                return None, now - started
            time.sleep(POLL_SECONDS)
        return child.returncode, time.monotonic() - started
    finally:
        log.close()


def spark_is_staging(home: Path) -> bool:
    """Aim: a run's staged Parquet is being written (or loaded): silver on Spark, whose outcome
    rows reach the warehouse through staged files (DuckDB computes them inside the warehouse,
    where "writing" aims)."""
    return any((home / "lake" / "staging").glob("*/run=*/*"))


def warehouse_is_writing(home: Path) -> bool:
    """Aim: the warehouse has writes not yet checkpointed (a staging, publish or swap)."""
    return (home / "warehouse.duckdb.wal").exists()


# How a trial chooses its moment: uniformly within the uninterrupted duration, or as soon as an
# outside sign shows the operation inside a window (always bounded by that duration).
AIMS: dict[str, Callable[[Path], bool] | None] = {
    "random": None,
    "staging": spark_is_staging,
    "writing": warehouse_is_writing,
}
# What an aim's killed run sets in its environment: "staging" runs silver on Spark, as
# production does (the run after the kill recovers on the default engine, which must converge to
# the same rows).
AIM_ENVIRONMENT: dict[str, Mapping[str, str]] = {"staging": {"FINSIGHT_SILVER_ENGINE": "spark"}}
# The aims that apply to each operation (approve and rollback run no Spark).
OPERATION_AIMS = {
    "materialize": ("random", "staging", "writing"),
    "backfill": ("random", "staging", "writing"),
    "approve": ("random", "writing"),
    "rollback": ("random", "writing"),
}


def _reap(group: int) -> None:
    """Wait until no process of the killed group is left (the Spark JVM goes with it)."""
    for _ in range(100):
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)


@dataclass(frozen=True)
class Base:
    """The home an operation starts from, what it holds before, and what the operation makes."""

    home: Path
    old: state.Fingerprints
    new: state.Fingerprints
    seconds: float


def prepare(workdir: Path, kinds: tuple[str, ...] = OPERATIONS) -> dict[str, Base]:
    """Run the setup and the operations up to the last of `kinds` once, uninterrupted, keeping
    the home before each of `kinds`."""
    home = workdir / "home"
    # Without materialize trials, nothing needs the five days published before it.
    setup = "setup" if "materialize" in kinds else "generate"
    if run(setup, home)[0] != 0:
        raise RuntimeError(f"{setup} failed, see {workdir}/home-{setup}.log")
    bases = {}
    for kind in OPERATIONS[: max(OPERATIONS.index(k) for k in kinds) + 1]:
        if kind == "backfill" and run("redeliver", home)[0] != 0:
            raise RuntimeError(f"redeliver failed, see {workdir}/home-redeliver.log")
        before = workdir / f"before-{kind}"
        if kind in kinds:
            shutil.copytree(home, before)
        old = state.observe(home).fingerprints
        code, seconds = run(kind, home)
        if code != 0:
            raise RuntimeError(f"{kind} failed uninterrupted, see {workdir}/home-{kind}.log")
        if kind in kinds:
            bases[kind] = Base(before, old, state.observe(home).fingerprints, seconds)
    return bases


@dataclass(frozen=True)
class Trial:
    kind: str
    aim: str
    at: float
    killed: bool
    problems: list[str]

    def line(self, number: int) -> str:
        verdict = "held" if not self.problems else "BROKEN: " + "; ".join(self.problems[:4])
        moment = f"killed at {self.at:5.1f} s" if self.killed else f"ended at {self.at:5.1f} s"
        return f"trial {number:2d} {self.kind:11s} {self.aim:8s} {moment}: {verdict}"


def trial(kind: str, aim: str, base: Base, limit: float, workdir: Path) -> Trial:
    home = workdir / f"trial-{kind}-{aim}-{limit:.2f}"
    shutil.rmtree(home, ignore_errors=True)
    shutil.copytree(base.home, home)
    raw = state.raw_digests(home)
    extra_env = AIM_ENVIRONMENT.get(aim)
    # A run on another engine takes its own time: the aim alone decides the moment.
    code, at = run(
        kind,
        home,
        kill_after=None if extra_env else limit,
        kill_when=AIMS[aim],
        extra_env=extra_env,
    )
    problems = []
    if code not in (None, 0):
        problems.append(f"exited {code} before the kill")
    after = state.observe(home)
    problems += after.violations + state.mixed(after.fingerprints, base.old, base.new)
    recovery, _ = run(kind, home)
    if recovery != 0:
        problems.append(f"the run after the kill exited {recovery}")
    recovered = state.observe(home)
    problems += recovered.violations
    if recovered.fingerprints != base.new:
        problems.append("the run after the kill did not converge to the uninterrupted result")
    problems += [f"left in staging: {name}" for name in recovered.leftovers]
    if state.raw_digests(home) != raw:
        problems.append("raw files changed")
    if not problems:
        shutil.rmtree(home, ignore_errors=True)
    return Trial(kind, aim, at, code is None, problems)


def trials(
    count: int,
    seed: int,
    workdir: Path,
    kinds: tuple[str, ...] = OPERATIONS,
    aim_offset: int = 0,
    emit=print,
) -> list[Trial]:
    """`count` trials spread over the operations and their aims (the first aim of each kind is
    its `aim_offset`-th); a random one is killed at a uniformly random moment of the
    operation's uninterrupted duration."""
    bases = prepare(workdir, kinds)
    emit(
        "uninterrupted: "
        + ", ".join(f"{kind} {base.seconds:.1f} s" for kind, base in bases.items())
    )
    rng = random.Random(seed)
    done = []
    for number in range(1, count + 1):
        kind = kinds[(number - 1) % len(kinds)]
        aims = OPERATION_AIMS[kind]
        aim = aims[((number - 1) // len(kinds) + aim_offset) % len(aims)]
        seconds = bases[kind].seconds
        limit = rng.uniform(0.1, 1.0) * seconds if aim == "random" else seconds
        done.append(trial(kind, aim, bases[kind], limit, workdir))
        emit(done[-1].line(number))
    return done


def summary(done: list[Trial]) -> str:
    killed = Counter(t.kind for t in done if t.killed)
    broken = sum(1 for t in done if t.problems)
    return (
        f"{len(done)} trials, {sum(killed.values())} killed mid-operation "
        f"({', '.join(f'{k} {n}' for k, n in sorted(killed.items()))}), "
        f"{len(done) - broken} held, {broken} broken"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="finsight-faults-"))
    done = trials(args.trials, args.seed, workdir)
    print(summary(done))
    if any(t.problems for t in done):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
