"""The `finsight` console script: the command, then an exit without the interpreter's teardown.

After a command has finished, Python tore down every module it imported (Dagster, SQLAlchemy,
pydantic, Arrow: thousands of modules, their objects freed one by one), about 0.6 s of CPU
after every command, a 1M-row `finsight materialize` included. The exit handlers the command
registers still run: registered after this one, they run before it (one registered before
`main` starts would not: the console script registers none). Then, with no other thread left,
the process ends with the command's exit status and without that teardown; otherwise it exits
as usual.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading


def exit_status(code: object) -> int:
    """The process's exit status for `SystemExit(code)`, as Python gives it."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    return 1


def main() -> None:
    status = 1

    def end_without_teardown() -> None:
        if threading.active_count() > 1:
            return
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)

    atexit.register(end_without_teardown)
    from finsight_assets.cli.main import app

    try:
        app()
        status = 0
    except SystemExit as stop:
        status = exit_status(stop.code)
        raise
