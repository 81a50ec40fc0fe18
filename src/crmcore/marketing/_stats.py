"""Significance of a difference between variants: two-proportion z-test, chi-square, intervals.

Pure Python (``math`` and ``statistics.NormalDist``): the pooled z-test of two
rates is the same test as Pearson's chi-square on the 2x2 table without
Yates' correction (same p-value); for more than two variants the chi-square
test has ``k - 1`` degrees of freedom.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from statistics import NormalDist

import attrs

from crmcore.errors import ValidationError

__all__ = [
    "ChiSquareResult",
    "ProportionTest",
    "chi_square_test",
    "two_proportion_test",
    "wilson_interval",
]

_NORMAL = NormalDist()


def _check(successes: int, trials: int, path: str) -> None:
    if type(successes) is not int or type(trials) is not int or trials < 0:
        raise ValidationError.single(path, "invalid", "counts must be non-negative ints")
    if not 0 <= successes <= trials:
        raise ValidationError.single(path, "invalid", "successes must be between 0 and trials")


def _z_star(confidence: float) -> float:
    if not 0 < confidence < 1:
        raise ValidationError.single("$.confidence", "invalid", "confidence must be in (0, 1)")
    return _NORMAL.inv_cdf(0.5 + confidence / 2)


def wilson_interval(successes: int, trials: int, confidence: float = 0.95) -> tuple[float, float]:
    """The Wilson score interval of a rate (``(0, 1)`` when there are no trials)."""
    _check(successes, trials, "$.successes")
    if trials == 0:
        return (0.0, 1.0)
    z = _z_star(confidence)
    p = successes / trials
    denom = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denom
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


@attrs.frozen
class ProportionTest:
    """Pooled two-proportion z-test of rate A against rate B.

    Attributes:
        rate_a / rate_b: the observed rates.
        difference: ``rate_a - rate_b``.
        z: the statistic (negative when A is lower); ``nan`` when undefined.
        p_value: two-sided.
        ci: the confidence interval of the difference (unpooled standard error).
        chi_square: ``z**2``, Pearson's statistic on the 2x2 table (no Yates).
    """

    rate_a: float
    rate_b: float
    difference: float
    z: float
    p_value: float
    ci: tuple[float, float]
    confidence: float

    @property
    def chi_square(self) -> float:
        return self.z * self.z

    def significant(self, alpha: float = 0.05) -> bool:
        """Whether the difference is significant at level ``alpha``."""
        return not math.isnan(self.p_value) and self.p_value < alpha


def two_proportion_test(
    successes_a: int, trials_a: int, successes_b: int, trials_b: int, confidence: float = 0.95
) -> ProportionTest:
    """Compare two rates: ``two_proportion_test(5, 83, 12, 99)`` gives z = -1.408, p = 0.1592.

    Raises:
        ValidationError: negative counts, or more successes than trials.
    """
    _check(successes_a, trials_a, "$.a")
    _check(successes_b, trials_b, "$.b")
    zs = _z_star(confidence)
    pa = successes_a / trials_a if trials_a else 0.0
    pb = successes_b / trials_b if trials_b else 0.0
    diff = pa - pb
    if trials_a == 0 or trials_b == 0:
        return ProportionTest(pa, pb, diff, math.nan, math.nan, (-1.0, 1.0), confidence)
    pooled = (successes_a + successes_b) / (trials_a + trials_b)
    se = math.sqrt(pooled * (1 - pooled) * (1 / trials_a + 1 / trials_b))
    if se == 0:
        z, p = math.nan, math.nan
    else:
        z = diff / se
        p = math.erfc(abs(z) / math.sqrt(2))
    se_diff = math.sqrt(pa * (1 - pa) / trials_a + pb * (1 - pb) / trials_b)
    return ProportionTest(
        pa, pb, diff, z, p, (diff - zs * se_diff, diff + zs * se_diff), confidence
    )


@attrs.frozen
class ChiSquareResult:
    """Pearson's chi-square test of equal rates across variants (no continuity correction)."""

    statistic: float
    dof: int
    p_value: float


def chi_square_test(groups: Sequence[tuple[int, int]]) -> ChiSquareResult:
    """Test that every group's rate is the same; ``groups`` holds ``(successes, trials)``.

    Groups without trials are left out; with fewer than two groups left, or no
    variation at all, the statistic is 0 and the p-value 1.
    """
    for i, (s, n) in enumerate(groups):
        _check(s, n, f"$.groups[{i}]")
    used = [(s, n) for s, n in groups if n > 0]
    total_n = sum(n for _, n in used)
    total_s = sum(s for s, _ in used)
    if len(used) < 2 or total_s in (0, total_n):
        return ChiSquareResult(0.0, max(len(used) - 1, 0), 1.0)
    p = total_s / total_n
    stat = 0.0
    for s, n in used:
        for observed, expected in ((s, n * p), (n - s, n * (1 - p))):
            stat += (observed - expected) ** 2 / expected
    dof = len(used) - 1
    return ChiSquareResult(stat, dof, _chi2_sf(stat, dof))


def _chi2_sf(x: float, dof: int) -> float:
    """The upper tail of the chi-square distribution: Q(dof/2, x/2)."""
    if x <= 0:
        return 1.0
    return _gamma_q(dof / 2, x / 2)


def _gamma_q(a: float, x: float) -> float:
    """The regularised upper incomplete gamma function (series or continued fraction)."""
    log_pre = -x + a * math.log(x) - math.lgamma(a)
    if x < a + 1:
        term = total = 1.0 / a
        ap = a
        for _ in range(1000):
            ap += 1
            term *= x / ap
            total += term
            if abs(term) < abs(total) * 1e-16:
                break
        return max(0.0, 1.0 - total * math.exp(log_pre))
    # Lentz's continued fraction
    tiny = 1e-300
    b = x + 1 - a
    c = 1 / tiny
    d = 1 / b
    h = d
    for i in range(1, 1000):
        an = -i * (i - a)
        b += 2
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1 / d
        delta = d * c
        h *= delta
        if abs(delta - 1) < 1e-16:
            break
    return min(1.0, math.exp(log_pre) * h)
