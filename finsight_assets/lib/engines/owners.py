"""Who owns a run's staging on one machine: the process that made it. Staging a killed process
left behind is swept by the next run that finds its owner gone (the embedded default runs every
process on one machine, so a process id says whether the owner lives)."""

from __future__ import annotations

import os
import re

_OWNER = re.compile(r"p(\d+)")


def owner_tag() -> str:
    """This process, as it is written into the names of the staging it creates."""
    return f"p{os.getpid()}"


def owner_alive(tag: str) -> bool:
    """Whether the process named by an `owner_tag` still runs (an unreadable tag: assume so)."""
    match = _OWNER.fullmatch(tag)
    return match is None or process_alive(int(match.group(1)))


def process_alive(pid: int) -> bool:
    """Whether a process of this id runs on this machine."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
