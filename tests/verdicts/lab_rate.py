"""Verdicts of the grading tests' `lab_rate` (tests/grading_fixtures.py), found through FACTORYLAB_VERDICTS_PATH."""

import math

from autograde.verdicts import LabVerdicts, expect
from labkit import plaindata
from simulators.seeding import stream

VERDICTS = LabVerdicts("lab_rate")


def cases(seed: int) -> list[list]:
    """The grader's inputs: counter readings and a sampling period, different for every learner."""
    rng = stream(seed, "lab_rate", "cases")
    return [[[int(n) for n in rng.integers(0, 50, size=int(rng.integers(2, 8)))], float(rng.choice([0.5, 1.0, 2.0]))]
            for _ in range(4)]


@VERDICTS.preparer
def prepare(variant, folder):
    plaindata.write(folder / "inputs", "rate_cases", cases(variant.seed))


@VERDICTS.cell("rate_function_test")
def rate_function(evidence, variant):
    rates = evidence["rates"]
    expected = [sum(counts) / (len(counts) * period) for counts, period in cases(variant.seed)]
    expect(isinstance(rates, list) and len(rates) == len(expected), "one rate per case is expected")
    expect(all(plaindata.is_finite_number(rate) and math.isclose(rate, want, rel_tol=1e-9)
               for rate, want in zip(rates, expected, strict=True)), "the mean rate is wrong for some inputs")


@VERDICTS.cell("rate_counts_test")
def rate_counts(evidence, variant):
    expect(evidence["counts"] == [1, 2, 3, 4], "the counts are not those of counts.txt")
