"""The course's secret, and each learner's graded variant seed derived from it.

A learner's graded variant (plant seed, hidden parameters, datasets, the grader's inputs) must not be
computable from anything in the learner's environment: a seed in a notebook, a CSV, an environment variable or
the open-source simulators would let a learner rebuild the ground truth. So the seed of each (lab, learner) is
an HMAC-SHA256 of their names under a random key kept in the course directory, readable by its owner alone,
and never copied into a release, feedback page, export or report (tests/test_secret.py checks the outputs).
The seed has 62 bits: no search over seeds can match an observed dataset.
"""

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from autograde.errors import GradeError

SECRET_FILE = "secret.key"
SECRET_BYTES = 32
SEED_BITS = 62


def secret_path(course_root: Path) -> Path:
    """Where the course keeps its secret: `<course>/.factorylab/secret.key`."""
    return Path(course_root) / ".factorylab" / SECRET_FILE


def course_secret(course_root: Path) -> bytes:
    """The course's secret, created (owner-only) the first time it is needed."""
    path = secret_path(course_root)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="ascii") as out:
            out.write(secrets.token_hex(SECRET_BYTES) + "\n")
    if path.stat().st_mode & 0o077:
        raise GradeError(f"{path}: readable by others (mode {path.stat().st_mode & 0o777:o}); "
                         f"`chmod 600 {path}`, and make a new secret if it may have been read")
    try:
        key = bytes.fromhex(path.read_text(encoding="ascii").strip())
    except ValueError:
        raise GradeError(f"{path}: not a hexadecimal key; delete it to make a new one (every learner's graded "
                         "variant then changes: regrade the cohort)") from None
    if len(key) < 16:
        raise GradeError(f"{path}: a key of {len(key)} bytes is too short; delete it to make a new one")
    return key


def variant_seed(secret: bytes, lab: str, learner: str) -> int:
    """The graded variant seed of `learner` in `lab`: reproducible for the course, unguessable without it."""
    digest = hmac.new(secret, f"{lab}\0{learner}".encode(), hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "big") >> (64 - SEED_BITS)
