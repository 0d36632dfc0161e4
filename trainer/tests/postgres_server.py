"""A private PostgreSQL 15 for tests: initdb + pg_ctl in a temp dir on a free loopback port.

PostgreSQL refuses to run as root; when the tests run as root the server runs as the
`postgres` system user (the Debian package creates it) on a directory it owns.
"""

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

SERVER_USER = "postgres"
ROLE = "reefguard"


@dataclass(frozen=True)
class Postgres:
    port: int

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://{ROLE}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.conninfo("postgres"), autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def conninfo(self, database: str) -> str:
        return f"host=127.0.0.1 port={self.port} user={ROLE} dbname={database}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def available() -> bool:
    return all(shutil.which(tool) for tool in ("initdb", "pg_ctl", "postgres"))


@contextmanager
def start_postgres() -> Iterator[Postgres]:
    """Its own temp dir (not pytest's, which the server user may not be able to enter)."""
    directory = Path(tempfile.mkdtemp(prefix="reefguard-postgres-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(directory, SERVER_USER)
        directory.chmod(0o700)
        as_user = ["runuser", "-u", SERVER_USER, "--"]
    data, log = directory / "data", directory / "server.log"
    port = free_port()

    def run(*args: str) -> None:
        done = subprocess.run([*as_user, *args], capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"{args[0]} failed ({done.returncode}): {done.stderr[-1000:]}")

    run("initdb", "-D", str(data), "-U", ROLE, "--auth=trust", "--no-sync", "-E", "UTF8")
    options = f"-p {port} -k {directory} -c listen_addresses=127.0.0.1 -c fsync=off"
    run("pg_ctl", "-D", str(data), "-l", str(log), "-o", options, "-w", "start")
    try:
        yield Postgres(port)
    finally:
        run("pg_ctl", "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(directory, ignore_errors=True)
