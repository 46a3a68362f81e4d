"""Named random streams derived from one seed, and which variant of the plant a notebook runs on.

Every random draw in the simulators goes through a generator returned here. Streams are keyed by
name rather than spawned in order, so adding a machine or a sensor does not shift the numbers any
other part of the plant draws: the same seed keeps giving the same bytes for what did not change.
"""

import os
import zlib
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np


def stream(seed: int, *names: str) -> "np.random.Generator":
    """Return the generator for the stream `names` (e.g. ``("sensors", "press1", "temperature")``)."""
    import numpy as np  # here, not at the top: the command line reads DEFAULT_SEED without paying for numpy

    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    key = [zlib.crc32(name.encode("utf-8")) for name in names]
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, *key])))


# The seed used when none is given: the bundled datasets' seed, so a default run matches them.
DEFAULT_SEED = 7

# The environment variable carrying a learner's practice seed into notebooks (`factorylab lab --seed`).
SEED_ENV = "FACTORYLAB_SEED"

# Set by the grader alone: the read-only folder of the learner's graded variant (observed data and the grader's
# inputs, no seed, no truth; autograde/variants.py). Kept here, in a module that imports nearly nothing, so that
# a hidden test cell reading the grader's inputs does not import the whole plant.
VARIANT_ENV = "FACTORYLAB_VARIANT"


def graded_variant_dir() -> Path | None:
    """The graded variant's folder while the grader runs this notebook (`FACTORYLAB_VARIANT`), else None."""
    raw = os.environ.get(VARIANT_ENV, "").strip()
    return Path(raw) if raw else None
