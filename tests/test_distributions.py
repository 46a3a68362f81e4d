"""Process-time distributions: the declared mean and spread come out, times are positive, bad specs are refused."""

import numpy as np
import pytest

from simulators.distributions import parse_distribution
from simulators.errors import PlantFileError
from simulators.seeding import stream

N = 40_000


def _draws(spec: dict) -> np.ndarray:
    return parse_distribution(spec, "plant.yaml: t").sample(stream(7, "test", spec["dist"]), N)


@pytest.mark.parametrize(
    ("spec", "mean_s", "sd_s"),
    [
        ({"dist": "exponential", "mean_s": 70}, 70.0, 70.0),
        ({"dist": "normal", "mean_s": 40, "sd_s": 4}, 40.0, 4.0),
        ({"dist": "lognormal", "mean_s": 95, "sd_s": 20}, 95.0, 20.0),
        (
            {"dist": "triangular", "min_s": 20, "mode_s": 30, "max_s": 45},
            95 / 3,
            np.sqrt((400 + 900 + 2025 - 600 - 900 - 1350) / 18),
        ),
    ],
)
def test_sample_mean_and_sd_match_the_declared_law(spec, mean_s, sd_s):
    values = _draws(spec)
    assert parse_distribution(spec, "x").mean_s == pytest.approx(mean_s)
    assert abs(values.mean() - mean_s) < 5 * sd_s / np.sqrt(N)
    assert values.std() == pytest.approx(sd_s, rel=0.05)


def test_constant_always_gives_its_value():
    dist = parse_distribution({"dist": "constant", "value_s": 12.5}, "x")
    assert dist.sample(stream(1, "c")) == 12.5
    assert set(dist.sample(stream(1, "c"), 10).tolist()) == {12.5}


def test_normal_is_truncated_to_positive_times_by_resampling():
    values = _draws({"dist": "normal", "mean_s": 1.0, "sd_s": 2.0})
    assert values.min() > 0.0
    assert values.mean() > 1.0  # the cut-off left tail pushes the mean up


def test_triangular_stays_within_its_bounds():
    values = _draws({"dist": "triangular", "min_s": 20, "mode_s": 30, "max_s": 45})
    assert values.min() >= 20 and values.max() <= 45


def test_single_draw_is_a_float_and_same_generator_seed_gives_same_values():
    dist = parse_distribution({"dist": "lognormal", "mean_s": 10, "sd_s": 3}, "x")
    one = dist.sample(stream(3, "a"))
    assert isinstance(one, float)
    assert dist.sample(stream(3, "a"), 5).tolist() == dist.sample(stream(3, "a"), 5).tolist()
    assert dist.sample(stream(3, "a"), 5).tolist() != dist.sample(stream(4, "a"), 5).tolist()


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"dist": "weibull", "mean_s": 3}, "f.yaml: a.time.dist: must be one of constant, exponential"),
        ({"mean_s": 3}, "a.time.dist: must be one of"),
        ({"dist": "exponential"}, "a.time.mean_s: missing"),
        ({"dist": "exponential", "mean_s": 3, "sd_s": 1}, "unknown key 'sd_s' for dist exponential"),
        ({"dist": "exponential", "mean_s": 0}, "a.time.mean_s: must be > 0, got 0"),
        ({"dist": "exponential", "mean_s": -5}, "a.time.mean_s: must be > 0, got -5"),
        ({"dist": "constant", "value_s": 0}, "a.time.value_s: must be > 0"),
        ({"dist": "normal", "mean_s": 3, "sd_s": -1}, "a.time.sd_s: must be >= 0"),
        ({"dist": "lognormal", "mean_s": "fast", "sd_s": 1}, "a.time.mean_s: must be a number of seconds"),
        ({"dist": "normal", "mean_s": True, "sd_s": 1}, "a.time.mean_s: must be a number of seconds"),
        ({"dist": "triangular", "min_s": 5, "mode_s": 3, "max_s": 9}, "min_s <= mode_s <= max_s"),
        ({"dist": "triangular", "min_s": 5, "mode_s": 5, "max_s": 5}, "min_s < max_s"),
        ({"dist": "triangular", "min_s": -1, "mode_s": 3, "max_s": 9}, "a.time.min_s: must be >= 0"),
        (30, "a.time: must be a mapping"),
    ],
)
def test_bad_distribution_is_refused_naming_file_field_and_allowed_values(spec, message):
    with pytest.raises(PlantFileError) as error:
        parse_distribution(spec, "f.yaml: a.time")
    assert message in str(error.value)


@pytest.mark.parametrize(
    ("spec", "fastest_s"),
    [
        ({"dist": "constant", "value_s": 60}, 60.0),
        ({"dist": "triangular", "min_s": 20, "mode_s": 30, "max_s": 45}, 20.0),
        ({"dist": "exponential", "mean_s": 70}, None),
        ({"dist": "normal", "mean_s": 40, "sd_s": 4}, None),
        ({"dist": "lognormal", "mean_s": 95, "sd_s": 20}, None),
        ({"dist": "triangular", "min_s": 0, "mode_s": 30, "max_s": 45}, None),
    ],
)
def test_the_fastest_cycle_is_the_minimum_or_else_the_5th_percentile(spec, fastest_s):
    """OEE's default ideal cycle (simulators/kpis.py): a law's minimum, or the time 5 % of its draws beat."""
    law = parse_distribution(spec, "x")
    if fastest_s is None:
        assert np.mean(_draws(spec) < law.fastest_s) == pytest.approx(0.05, abs=0.005)
    else:
        assert law.fastest_s == fastest_s and _draws(spec).min() >= fastest_s
