"""SHA-256 digests of landed files, each file hashed once ever: kept in memory and in a small
sidecar file beside the lake, keyed by what the file system says of the file.

The key is the path with its size, modification time, change time and inode. A rewrite changes
the change time even when the size is the same and the modification time is put back (no user
call sets it). A file changed within the time stamps' resolution of its last change would keep
its key, so a digest is kept only when the file had been left alone for `SETTLED_SECONDS` when
hashing began (as git does with racily clean files): until then it is hashed on every look.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from pathlib import Path

SETTLED_SECONDS = 1.0
_CHUNK = 1 << 20


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _key(stat: os.stat_result) -> list[int]:
    return [stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino]


class FileDigests:
    """The digests of one lake's files, loaded from `sidecar` on first use and saved by `save`."""

    def __init__(self, sidecar: Path):
        self.sidecar = sidecar
        self._known: dict[str, list] | None = None
        self._changed = False
        self._lock = threading.Lock()

    def _entries(self) -> dict[str, list]:
        if self._known is None:
            try:
                self._known = json.loads(self.sidecar.read_text())
            except (OSError, ValueError):
                self._known = {}
        return self._known

    def digest(self, path: Path, stat: os.stat_result) -> str:
        """The file's digest: the kept one while its key is unchanged, else hashed now."""
        key = _key(stat)
        with self._lock:
            entry = self._entries().get(str(path))
        if entry is not None and entry[:4] == key:
            return entry[4]
        started = time.time()
        digest = sha256(path)
        if started - stat.st_ctime_ns / 1e9 > SETTLED_SECONDS:
            with self._lock:
                self._entries()[str(path)] = [*key, digest]
                self._changed = True
        return digest

    def save(self) -> None:
        """Write the digests found since the last save (whole, by rename); a failure only
        costs hashing again."""
        with self._lock:
            if not self._changed or self._known is None:
                return
            present = {p: e for p, e in self._known.items() if os.path.exists(p)}
            partial = self.sidecar.with_name(f".{self.sidecar.name}.{os.getpid()}.partial")
            try:
                self.sidecar.parent.mkdir(parents=True, exist_ok=True)
                partial.write_text(json.dumps(present))
                os.replace(partial, self.sidecar)
                self._changed = False
            except OSError:
                partial.unlink(missing_ok=True)


_BY_SIDECAR: dict[Path, FileDigests] = {}


def digests_at(sidecar: Path) -> FileDigests:
    """The process's one `FileDigests` of a sidecar file."""
    if sidecar not in _BY_SIDECAR:
        _BY_SIDECAR[sidecar] = FileDigests(sidecar)
    return _BY_SIDECAR[sidecar]
