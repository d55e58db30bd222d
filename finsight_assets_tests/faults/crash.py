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
from dataclasses import dataclass
from pathlib import Path

from finsight_assets_tests.faults import state
from finsight_assets_tests.faults.operation import environment

# Each operation, in the order they build on each other: a trial of one starts from the state
# the operations before it left.
OPERATIONS = ("materialize", "backfill", "approve", "rollback")
OPERATION_TIMEOUT_SECONDS = 600


def run(kind: str, home: Path, kill_after: float | None = None) -> tuple[int | None, float]:
    """Run an operation in a new process group; kill the group with SIGKILL after `kill_after`
    seconds if it is still running. Returns its exit code (None: killed) and seconds taken."""
    log = (home.parent / f"{home.name}-{kind}.log").open("ab")
    started = time.monotonic()
    child = subprocess.Popen(
        [sys.executable, "-m", "finsight_assets_tests.faults.operation", kind, str(home)],
        env=environment(home),
        stdout=log,
        stderr=log,
        start_new_session=True,
    )
    try:
        code = child.wait(kill_after if kill_after is not None else OPERATION_TIMEOUT_SECONDS)
        return code, time.monotonic() - started
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGKILL)
        child.wait()
        _reap(child.pid)
        return None, time.monotonic() - started
    finally:
        log.close()


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


def prepare(workdir: Path) -> dict[str, Base]:
    """Run the setup and every operation once, uninterrupted, keeping the home before each."""
    home = workdir / "home"
    for step in ("setup",):
        code, _ = run(step, home)
        if code != 0:
            raise RuntimeError(f"setup failed, see {home.parent / f'{home.name}-{step}.log'}")
    bases = {}
    for kind in OPERATIONS:
        if kind == "backfill":
            code, _ = run("redeliver", home)
            if code != 0:
                raise RuntimeError("redeliver failed")
        before = workdir / f"before-{kind}"
        shutil.copytree(home, before)
        old = state.observe(home).fingerprints
        code, seconds = run(kind, home)
        if code != 0:
            raise RuntimeError(f"{kind} failed uninterrupted, see {workdir}/home-{kind}.log")
        bases[kind] = Base(before, old, state.observe(home).fingerprints, seconds)
    return bases


@dataclass(frozen=True)
class Trial:
    kind: str
    at: float
    killed: bool
    problems: list[str]

    def line(self, number: int) -> str:
        verdict = "held" if not self.problems else "BROKEN: " + "; ".join(self.problems[:4])
        moment = (
            f"killed at {self.at:5.1f} s" if self.killed else f"finished before {self.at:5.1f} s"
        )
        return f"trial {number:2d} {self.kind:11s} {moment}: {verdict}"


def trial(kind: str, base: Base, at: float, workdir: Path) -> Trial:
    home = workdir / f"trial-{kind}-{at:.2f}"
    shutil.rmtree(home, ignore_errors=True)
    shutil.copytree(base.home, home)
    raw = state.raw_digests(home)
    code, _ = run(kind, home, kill_after=at)
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
    shutil.rmtree(home, ignore_errors=True)
    return Trial(kind, at, code is None, problems)


def trials(count: int, seed: int, workdir: Path, emit=print) -> list[Trial]:
    """`count` trials spread over the operations, each killed at a uniformly random moment of
    the operation's uninterrupted duration."""
    bases = prepare(workdir)
    emit(
        "uninterrupted: "
        + ", ".join(f"{kind} {base.seconds:.1f} s" for kind, base in bases.items())
    )
    rng = random.Random(seed)
    done = []
    for number in range(1, count + 1):
        kind = OPERATIONS[(number - 1) % len(OPERATIONS)]
        at = rng.uniform(0.1, 1.0) * bases[kind].seconds
        done.append(trial(kind, bases[kind], at, workdir))
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
