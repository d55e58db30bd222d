"""The `finsight` console script ends without the interpreter's teardown, keeping the command's
output, exit status and exit handlers; with another thread still running it exits as usual."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

FINSIGHT = str(Path(sys.executable).with_name("finsight"))

# A command that prints, registers an exit handler and exits 3, run through `entry.main`; an
# object that writes a file when freed stands for the modules the teardown frees.
SCRIPT = """
import atexit, sys, threading, time
import finsight_assets.cli.main as cli
from finsight_assets.cli import entry

folder, other_thread = sys.argv[1], sys.argv[2] == "yes"

class FreedAtTeardown:
    # What `__del__` needs is its own: the module's names may be cleared before it runs.
    def __init__(self, path):
        self.path, self.open = path, open

    def __del__(self):
        self.open(self.path, "w").close()

kept = FreedAtTeardown(folder + "/torn-down")

def command():
    atexit.register(lambda: open(folder + "/handler-ran", "w").close())
    if other_thread:
        threading.Thread(target=time.sleep, args=(60,), daemon=True).start()
    print("the command's output")
    raise SystemExit(3)

cli.app = command
entry.main()
"""


def _run(tmp_path: Path, other_thread: bool) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path), "yes" if other_thread else "no"],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_command_ends_with_its_status_output_and_handlers_and_no_teardown(tmp_path):
    done = _run(tmp_path, other_thread=False)
    assert (done.returncode, done.stdout) == (3, "the command's output\n"), done.stderr
    assert (tmp_path / "handler-ran").exists()
    assert not (tmp_path / "torn-down").exists()


def test_with_another_thread_running_the_process_exits_as_usual(tmp_path):
    done = _run(tmp_path, other_thread=True)
    assert (done.returncode, done.stdout) == (3, "the command's output\n"), done.stderr
    assert (tmp_path / "handler-ran").exists()
    assert (tmp_path / "torn-down").exists()


def test_the_installed_script_keeps_a_commands_output_and_status(tmp_path):
    helped = subprocess.run([FINSIGHT, "--help"], capture_output=True, text=True, timeout=120)
    assert helped.returncode == 0 and "FinSight lakehouse operations." in helped.stdout
    refused = subprocess.run(
        [FINSIGHT, "materialize", "--start", "2025-13-01", "--end", "2025-01-01"],
        capture_output=True,
        text=True,
        timeout=120,
        env={"FINSIGHT_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )
    assert refused.returncode == 2
    assert "'2025-13-01' is not a date YYYY-MM-DD" in refused.stderr
