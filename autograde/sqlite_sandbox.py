"""Run a learner's SQL schema, and the grader's statements against it, in a sandboxed child process.

Some verdicts judge how a learner's database behaves (does the archive refuse a duplicate event?), which only
SQLite itself can answer from the learner's CREATE statements. The grader never executes what a kernel wrote
in its own process: the statements go to a fresh Python (`-I -S`: the standard library only, no site, no
environment) in the bubblewrap sandbox (no network, nothing writable but a small tmpfs, nothing of the course
visible), under memory, CPU-time and file-size limits, and with SQLite's own guards (no ATTACH, no PRAGMA, no
virtual table, bounded virtual-machine steps). It builds an in-memory database and returns, as JSON, what each
statement gave. The verdict reads that data; a crash, a timeout or garbage is a failed verdict, never a pass.
Without bubblewrap (`factorylab grade --unsafe`) the child runs with the same limits, unconfined.
"""

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from autograde.bwrap import sandbox_available, sandbox_command

TIMEOUT_S = 20
MEMORY_BYTES = 512 * 2**20
OUTPUT_LIMIT = 2 * 2**20
STEP_LIMIT = 2_000_000  # SQLite virtual-machine steps for the whole run, triggers included

# The child's program: grader code, given as source (the child imports nothing of factorylab).
_CHILD = r"""
import json, resource, sqlite3, sys
memory, steps_allowed = int(sys.argv[1]), int(sys.argv[2])
resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
resource.setrlimit(resource.RLIMIT_CPU, (10, 10))
resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
job = json.loads(sys.stdin.read())
forbidden = {sqlite3.SQLITE_ATTACH, sqlite3.SQLITE_DETACH, sqlite3.SQLITE_PRAGMA, sqlite3.SQLITE_CREATE_VTABLE,
             sqlite3.SQLITE_DROP_VTABLE}
conn = sqlite3.connect(":memory:", isolation_level=None)
conn.set_authorizer(lambda action, *_: sqlite3.SQLITE_DENY if action in forbidden else sqlite3.SQLITE_OK)
steps = [0]
def bounded():
    steps[0] += 1
    return int(steps[0] > steps_allowed // 1000)
conn.set_progress_handler(bounded, 1000)
def run(sql, params):
    try:
        cursor = conn.execute(sql, params)
        rows = [list(row) for row in cursor.fetchmany(1000)]
        return {"rows": rows, "columns": [d[0] for d in cursor.description or ()]}
    except (sqlite3.Error, sqlite3.Warning) as error:
        return {"error": type(error).__name__, "message": str(error)[:300]}
result = {"schema": [run(sql, []) for sql in job["schema"]],
          "statements": [run(sql, params) for sql, params in job["statements"]]}
sys.stdout.write(json.dumps(result))
"""


class SQLiteSandboxError(RuntimeError):
    """The child did not answer (crash, timeout, limit, unreadable output)."""


def run_sql(schema: list[str], statements: list[tuple[str, list]]) -> dict:
    """`{"schema": [result per CREATE statement], "statements": [result per (sql, params)]}`, each result
    `{"rows": [...], "columns": [...]}` or `{"error": "IntegrityError", "message": "..."}`; run in order on one
    in-memory database in a sandboxed child. Raises SQLiteSandboxError when the child gives no usable answer."""
    job = json.dumps({"schema": schema, "statements": [[sql, list(params)] for sql, params in statements]})
    child = [sys.executable, "-I", "-S", "-c", _CHILD, str(MEMORY_BYTES), str(STEP_LIMIT)]
    with tempfile.TemporaryDirectory(prefix="factorylab-sql-") as empty:
        command = (sandbox_command(stage=Path(empty), variant=None, quota_bytes=2**20, env={"LANG": "C.UTF-8"},
                                   command=child)
                   if sandbox_available() else child)
        try:
            done = subprocess.run(command, input=job.encode(), capture_output=True, timeout=TIMEOUT_S, check=False)
        except subprocess.TimeoutExpired:
            raise SQLiteSandboxError(f"the schema's statements ran longer than {TIMEOUT_S} s") from None
    if done.returncode != 0 or len(done.stdout) > OUTPUT_LIMIT:
        raise SQLiteSandboxError(f"the schema's statements stopped SQLite (exit {done.returncode})")
    try:
        answer = json.loads(done.stdout)
    except ValueError:
        raise SQLiteSandboxError("SQLite's answer was unreadable") from None
    if not (isinstance(answer, dict) and len(answer.get("schema", ())) == len(schema)
            and len(answer.get("statements", ())) == len(statements)):
        raise SQLiteSandboxError("SQLite's answer was incomplete")
    return answer
