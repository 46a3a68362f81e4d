"""Process-time and inter-arrival distributions, as a plant file declares them.

A distribution is written in the plant file as a small mapping, all times in seconds:

    {dist: constant, value_s: 30}
    {dist: exponential, mean_s: 70}
    {dist: normal, mean_s: 40, sd_s: 4}          # truncated to > 0 by resampling
    {dist: lognormal, mean_s: 95, sd_s: 20}      # mean and sd of the time itself, not of its log
    {dist: triangular, min_s: 20, mode_s: 25, max_s: 40}

Sampling takes the generator as an argument (from `simulators.seeding.stream`), never global state.
"""

import math
from collections.abc import Mapping
from dataclasses import dataclass
from statistics import NormalDist
from types import MappingProxyType

import numpy as np

from simulators.errors import PlantFileError

FASTEST_QUANTILE = 0.05  # the "fastest" cycle of a law without a minimum: one cycle in twenty is this fast

# The parameters each kind takes, all required, all in seconds.
PARAMETERS = {
    "constant": ("value_s",),
    "exponential": ("mean_s",),
    "normal": ("mean_s", "sd_s"),
    "lognormal": ("mean_s", "sd_s"),
    "triangular": ("min_s", "mode_s", "max_s"),
}


@dataclass(frozen=True)
class Distribution:
    """A positive random duration in seconds; `params` maps the names in PARAMETERS[kind] to floats."""

    kind: str
    params: Mapping[str, float]

    @property
    def mean_s(self) -> float:
        """The expected value (for a normal, of the untruncated law: the cut tail is negligible
        when sd_s is small against mean_s, which is what a process time looks like)."""
        p = self.params
        if self.kind == "constant":
            return p["value_s"]
        if self.kind == "triangular":
            return (p["min_s"] + p["mode_s"] + p["max_s"]) / 3.0
        return p["mean_s"]

    @property
    def fastest_s(self) -> float:
        """The fastest time this law produces in normal running: its minimum where it has one (constant,
        triangular with min_s > 0), else its 5th percentile (one cycle in twenty is this fast or faster).

        It is the default ideal cycle time of OEE (`simulators/kpis.py`): a machine's "theoretical fastest"
        cycle, the Vorne/JIPM standard, where a plant file declares none."""
        p = self.params
        if self.kind == "constant":
            return p["value_s"]
        if self.kind == "triangular" and p["min_s"] > 0:
            return p["min_s"]
        return self.quantile_s(FASTEST_QUANTILE)

    def quantile_s(self, q: float) -> float:
        """The time below which a share `q` of the draws fall (a normal is the law truncated to > 0)."""
        p = self.params
        if self.kind == "constant":
            return p["value_s"]
        if self.kind == "exponential":
            return -p["mean_s"] * math.log1p(-q)
        if self.kind == "normal":
            law = NormalDist(p["mean_s"], p["sd_s"]) if p["sd_s"] > 0 else None
            if law is None:
                return p["mean_s"]
            below_zero = law.cdf(0.0)
            return law.inv_cdf(below_zero + q * (1.0 - below_zero))
        if self.kind == "lognormal":
            sigma2 = math.log1p((p["sd_s"] / p["mean_s"]) ** 2)
            if sigma2 == 0:
                return p["mean_s"]
            return math.exp(math.log(p["mean_s"]) - sigma2 / 2.0 + math.sqrt(sigma2) * NormalDist().inv_cdf(q))
        low, mode, high = p["min_s"], p["mode_s"], p["max_s"]
        split = (mode - low) / (high - low)
        if q <= split:
            return low + math.sqrt(q * (high - low) * (mode - low))
        return high - math.sqrt((1.0 - q) * (high - low) * (high - mode))

    def sample(self, rng: np.random.Generator, size: int | None = None) -> float | np.ndarray:
        """Draw one value (size=None) or an array of `size` values from `rng`."""
        p = self.params
        n = 1 if size is None else size
        if self.kind == "constant":
            values = np.full(n, p["value_s"])
        elif self.kind == "exponential":
            values = rng.exponential(p["mean_s"], n)
        elif self.kind == "normal":
            values = _positive_normal(rng, p["mean_s"], p["sd_s"], n)
        elif self.kind == "lognormal":
            sigma2 = np.log1p((p["sd_s"] / p["mean_s"]) ** 2)
            values = rng.lognormal(np.log(p["mean_s"]) - sigma2 / 2.0, np.sqrt(sigma2), n)
        else:
            values = rng.triangular(p["min_s"], p["mode_s"], p["max_s"], n)
        return float(values[0]) if size is None else values


def _positive_normal(rng: np.random.Generator, mean_s: float, sd_s: float, n: int) -> np.ndarray:
    """Normal draws, each non-positive one drawn again, so a process time is never zero or negative."""
    values = rng.normal(mean_s, sd_s, n)
    bad = values <= 0.0
    while bad.any():
        values[bad] = rng.normal(mean_s, sd_s, int(bad.sum()))
        bad = values <= 0.0
    return values


def parse_distribution(data: object, where: str) -> Distribution:
    """Check a plant file's distribution mapping and build it; `where` is "file: field path" for errors."""
    if not isinstance(data, Mapping):
        raise PlantFileError(f"{where}: must be a mapping like {{dist: exponential, mean_s: 60}}, got {data!r}")
    kind = data.get("dist")
    if kind not in PARAMETERS:
        allowed = ", ".join(PARAMETERS)
        raise PlantFileError(f"{where}.dist: must be one of {allowed}, got {kind!r}")
    names = PARAMETERS[kind]
    unknown = sorted(set(data) - {"dist", *names})
    if unknown:
        raise PlantFileError(f"{where}: unknown key {unknown[0]!r} for dist {kind}; allowed: {', '.join(names)}")
    params = {}
    for name in names:
        if name not in data:
            raise PlantFileError(f"{where}.{name}: missing; dist {kind} needs {', '.join(names)}")
        value = data[name]
        if isinstance(value, bool) or not isinstance(value, int | float) or not np.isfinite(value):
            raise PlantFileError(f"{where}.{name}: must be a number of seconds, got {value!r}")
        params[name] = float(value)
    _check_ranges(kind, params, where)
    return Distribution(kind, MappingProxyType(params))


def _check_ranges(kind: str, params: dict[str, float], where: str) -> None:
    """Refuse parameters that would give zero, negative or undefined durations."""
    if kind == "triangular":
        low, mode, high = params["min_s"], params["mode_s"], params["max_s"]
        if low < 0:
            raise PlantFileError(f"{where}.min_s: must be >= 0, got {low:g}")
        if not low <= mode <= high or low == high:
            raise PlantFileError(
                f"{where}: must satisfy min_s <= mode_s <= max_s with min_s < max_s, got {low:g}, {mode:g}, {high:g}"
            )
        return
    for name, value in params.items():
        if name == "sd_s" and value < 0:
            raise PlantFileError(f"{where}.sd_s: must be >= 0, got {value:g}")
        if name != "sd_s" and value <= 0:
            raise PlantFileError(f"{where}.{name}: must be > 0, got {value:g}")
