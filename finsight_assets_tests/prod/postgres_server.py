"""A throwaway PostgreSQL server for tests: initdb in a temp folder, start, create a database, stop.

Uses the server binaries of Debian's `postgresql` package. PostgreSQL refuses to run as root, so
under root every server command runs as the `postgres` system user, who owns the temp folder.
"""

from __future__ import annotations

import os
import pwd
import re
import shlex
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg2
from psycopg2 import sql

from finsight_assets.lib.engines.ports import free_port

SERVER_USER = "postgres"
INSTALL_HINT = "install the Debian package `postgresql` (apt-get install -y postgresql)"


class PostgresUnavailable(RuntimeError):
    """The server could not be found or started."""


@dataclass(frozen=True)
class PostgresSettings:
    host: str
    port: int
    user: str
    password: str
    dbname: str

    def connect(self, dbname: str | None = None):
        """A psycopg2 connection over TCP with the password (as Dagster connects)."""
        return psycopg2.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password,
            dbname=dbname or self.dbname,
            connect_timeout=5,
        )


def find_binaries() -> tuple[Path, Path]:
    """initdb and pg_ctl: the newest /usr/lib/postgresql/<version>/bin, else the PATH."""

    def version(initdb: Path) -> tuple[int, ...]:
        return tuple(int(n) for n in re.findall(r"\d+", initdb.parent.parent.name))

    debian = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=version)
    for initdb in reversed(debian):
        pg_ctl = initdb.with_name("pg_ctl")
        if pg_ctl.is_file():
            return initdb, pg_ctl
    on_path = shutil.which("initdb")
    if on_path:
        initdb = Path(on_path).resolve()
        pg_ctl = initdb.with_name("pg_ctl")
        if pg_ctl.is_file():
            return initdb, pg_ctl
        found = shutil.which("pg_ctl")
        if found:
            return initdb, Path(found)
    raise PostgresUnavailable(
        "PostgreSQL server binaries (initdb, pg_ctl) not found in /usr/lib/postgresql/*/bin "
        f"nor on PATH: {INSTALL_HINT}"
    )


def _as_server_user(command: Sequence[str]) -> list[str]:
    """The command as is, or run as the `postgres` user when we are root."""
    if os.geteuid() != 0:
        return list(command)
    runuser = shutil.which("runuser", path=f"{os.environ.get('PATH', '')}:/usr/sbin:/sbin")
    if runuser:
        return [runuser, "-u", SERVER_USER, "--", *command]
    return ["su", SERVER_USER, "-s", "/bin/sh", "-c", shlex.join(command)]


def _log_tail(log: Path | None) -> str:
    return log.read_text(errors="replace")[-2000:] if log is not None and log.exists() else ""


def _run(command: Sequence[str], cwd: Path, timeout: float, log: Path | None = None) -> None:
    full = _as_server_user(command)
    try:
        done = subprocess.run(
            full, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise PostgresUnavailable(f"{' '.join(full)} did not finish in {timeout}s") from exc
    if done.returncode != 0:
        raise PostgresUnavailable(
            f"{' '.join(full)} failed with exit code {done.returncode}:\n"
            f"{done.stdout}\n{done.stderr}\n{_log_tail(log)}"
        )


def _wait_for_connections(settings: PostgresSettings, deadline: float, log: Path) -> None:
    while True:
        try:
            settings.connect(dbname="postgres").close()
            return
        except psycopg2.OperationalError as exc:
            if time.monotonic() > deadline:
                raise PostgresUnavailable(
                    f"PostgreSQL on {settings.host}:{settings.port} did not accept connections: "
                    f"{exc}\n{_log_tail(log)}"
                ) from exc
            time.sleep(0.2)


@contextmanager
def postgres_server(
    dbname: str = "dagster",
    user: str = "dagster",
    password: str = "finsight-test",
    start_timeout: float = 60.0,
) -> Iterator[PostgresSettings]:
    """A fresh server on 127.0.0.1 with `dbname` created; stopped and deleted afterwards."""
    initdb, pg_ctl = find_binaries()
    owner = None
    if os.geteuid() == 0:
        try:
            owner = pwd.getpwnam(SERVER_USER)
        except KeyError as exc:
            raise PostgresUnavailable(
                f"running as root needs the `{SERVER_USER}` system user: {INSTALL_HINT}"
            ) from exc

    root = Path(tempfile.mkdtemp(prefix="finsight-pg-"))
    data, log, pwfile = root / "data", root / "server.log", root / "pwfile"
    pwfile.write_text(password + "\n")
    if owner is not None:
        for path in (root, pwfile):
            os.chown(path, owner.pw_uid, owner.pw_gid)
    settings = PostgresSettings("127.0.0.1", free_port(), user, password, dbname)
    try:
        _run(
            [
                str(initdb),
                "-D",
                str(data),
                "-U",
                user,
                f"--pwfile={pwfile}",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "--encoding=UTF8",
                "--no-locale",
                "--no-sync",
            ],
            cwd=root,
            timeout=120,
        )
        # Appended by us, the file stays the server user's; durability is not needed here.
        with (data / "postgresql.conf").open("a") as conf:
            conf.write(
                "\nlisten_addresses = '127.0.0.1'\n"
                f"port = {settings.port}\n"
                f"unix_socket_directories = '{root}'\n"
                "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
            )
        wait = str(int(start_timeout))
        _run(
            [str(pg_ctl), "-D", str(data), "-l", str(log), "-w", "-t", wait, "start"],
            cwd=root,
            timeout=start_timeout + 10,
            log=log,
        )
        _wait_for_connections(settings, time.monotonic() + start_timeout, log)
        admin = settings.connect(dbname="postgres")
        try:
            admin.autocommit = True
            with admin.cursor() as cursor:
                cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
        finally:
            admin.close()
        yield settings
    finally:
        try:
            # Also after a failed start: a server that came up late still has its pid file.
            if (data / "postmaster.pid").exists():
                stop = [str(pg_ctl), "-D", str(data), "-m", "fast", "-w", "stop"]
                _run(stop, cwd=root, timeout=60, log=log)
        finally:
            shutil.rmtree(root, ignore_errors=True)
