"""A throwaway PostgreSQL server for the tests: Debian's `postgresql`, a cluster made in a temporary folder,
reached on a Unix socket only (no TCP port), removed after the session.

`initdb` refuses to run as root, as CI runs: the cluster then belongs to the `nobody` account (`runuser`).
`postgres_server` is skipped with a reason when PostgreSQL is not installed, except under CI (env var CI
set), where a missing server is a failure: .ci/run installs it. `postgres_url` gives each test its own fresh
database, as the SQLAlchemy URL factorylab accepts (pg8000 driver).
"""

import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

SUPERUSER = "factorylab"
PORT = 5432  # only names the socket file: the server listens on no TCP address


@dataclass(frozen=True)
class PostgresServer:
    socket_dir: Path

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+pg8000://{SUPERUSER}@/{database}?unix_sock={self.socket_dir}/.s.PGSQL.{PORT}"

    def create_database(self) -> str:
        """A new empty database; its URL."""
        name = f"test_{uuid.uuid4().hex[:12]}"
        engine = create_engine(self.url(), isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
        finally:
            engine.dispose()
        return self.url(name)


def _binary(name: str) -> str | None:
    """`name` from PostgreSQL's own bin folder (Debian keeps it off PATH), the newest version first."""
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda path: int(path.split("/")[4]))
    return found[-1] if found else shutil.which(name)


@pytest.fixture(scope="session")
def postgres_server():
    initdb, pg_ctl = _binary("initdb"), _binary("pg_ctl")
    if initdb is None or pg_ctl is None:
        message = "PostgreSQL is not installed (apt-get install postgresql)"
        if os.environ.get("CI"):
            pytest.fail(f"{message}; CI must install it")
        pytest.skip(message)
    as_owner: list[str] = []
    folder = Path(tempfile.mkdtemp(prefix="factorylab-postgres-"))
    if os.geteuid() == 0:
        as_owner = ["runuser", "-u", "nobody", "--"]
        shutil.chown(folder, "nobody")
    data, log = folder / "data", folder / "server.log"
    try:
        subprocess.run([*as_owner, initdb, "-D", str(data), "-U", SUPERUSER, "--auth=trust", "-E", "UTF8",
                        "--no-sync"], check=True, capture_output=True)
        options = f"-k {folder} -c listen_addresses='' -p {PORT} -c fsync=off"
        started = subprocess.run([*as_owner, pg_ctl, "-D", str(data), "-l", str(log), "-o", options, "-w",
                                  "start"], capture_output=True, text=True)
        if started.returncode:
            pytest.fail(f"PostgreSQL did not start: {started.stderr}{log.read_text() if log.exists() else ''}")
        yield PostgresServer(folder)
        subprocess.run([*as_owner, pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"], capture_output=True)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server) -> str:
    return postgres_server.create_database()
