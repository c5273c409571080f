"""Verdicts that can fail: a confidence interval of per-repeat paired ratios against a target.

Each phase runs its variants interleaved, so every repeat (round) yields one ratio per
pair of variants measured under the same conditions (ours / simplejwt in the same
round). Machine noise moves both sides of a pair together; what is left varies from
round to round, and the verdict uses that variation:

- the estimate is the mean of the per-repeat paired ratios, with a two-sided 95 %
  Student-t confidence interval (``n - 1`` degrees of freedom);
- a target "ratio <= T" is PASS only when the **upper** end of the interval is <= T,
  FAIL when the **lower** end is > T, and INCONCLUSIVE otherwise (the run could not
  tell: more repeats are needed, and the target is not met);
- a target "ratio >= T" is PASS only when the **lower** end is >= T, FAIL when the
  upper end is < T, INCONCLUSIVE otherwise;
- fewer than 2 repeats give no interval: INCONCLUSIVE.

No verdict is "within the noise band": a wide spread makes a verdict INCONCLUSIVE,
never PASS. The mean, not the median, because the t-interval is about a mean; a
bimodal sample widens the interval instead of being hidden by the median.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

PASS, FAIL, INCONCLUSIVE = "PASS", "FAIL", "INCONCLUSIVE"
Direction = Literal["at_most", "at_least"]
CONFIDENCE = 0.95

# Two-sided 95 % critical values of Student's t by degrees of freedom (beyond 30: the
# next row below, conservative; beyond 120: the normal 1.960).
_T95 = {
    1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306,
    9: 2.262, 10: 2.228, 11: 2.201, 12: 2.179, 13: 2.160, 14: 2.145, 15: 2.131,
    16: 2.120, 17: 2.110, 18: 2.101, 19: 2.093, 20: 2.086, 21: 2.080, 22: 2.074,
    23: 2.069, 24: 2.064, 25: 2.060, 26: 2.056, 27: 2.052, 28: 2.048, 29: 2.045,
    30: 2.042, 40: 2.021, 60: 2.000, 120: 1.980,
}  # fmt: skip


def t_critical(df: int) -> float:
    """Return the two-sided 95 % critical value of Student's t with ``df`` degrees of freedom."""
    if df < 1:
        raise ValueError("at least 1 degree of freedom")
    if df in _T95:
        return _T95[df]
    if df > 120:
        return 1.960
    return _T95[max(k for k in _T95 if k <= df)]


@dataclass(frozen=True)
class Interval:
    """Mean of per-repeat paired ratios and its 95 % confidence interval."""

    mean: float
    low: float
    high: float
    n: int

    def describe(self) -> str:
        if self.n < 2:
            return f"{self.mean:.2f}x (1 repeat: no interval)"
        return f"{self.mean:.2f}x (95 % CI {self.low:.2f}{chr(0x2013)}{self.high:.2f}, n={self.n})"


def interval(ratios: Sequence[float]) -> Interval:
    """Return the mean of ``ratios`` with its two-sided 95 % Student-t interval."""
    if not ratios:
        raise ValueError("no ratios")
    n = len(ratios)
    mean = statistics.fmean(ratios)
    if n < 2:
        return Interval(mean, -math.inf, math.inf, n)
    half = t_critical(n - 1) * statistics.stdev(ratios) / math.sqrt(n)
    return Interval(mean, mean - half, mean + half, n)


def paired_ratios(numerators: Sequence[float], denominators: Sequence[float]) -> list[float]:
    """Return ``numerators[i] / denominators[i]`` for each repeat (same length required)."""
    if len(numerators) != len(denominators):
        raise ValueError("paired samples must have the same number of repeats")
    return [a / b for a, b in zip(numerators, denominators, strict=True)]


def judge(ratios: Sequence[float], target: float, direction: Direction) -> tuple[str, Interval]:
    """Return (PASS / FAIL / INCONCLUSIVE, interval) for "ratio <= target" or ">= target"."""
    ci = interval(ratios)
    if ci.n < 2:
        return INCONCLUSIVE, ci
    if direction == "at_most":
        if ci.high <= target:
            return PASS, ci
        if ci.low > target:
            return FAIL, ci
    else:
        if ci.low >= target:
            return PASS, ci
        if ci.high < target:
            return FAIL, ci
    return INCONCLUSIVE, ci


def judge_within(
    ours: Sequence[float], reference: Sequence[float], factor: float
) -> tuple[str, Interval]:
    """Judge "ours <= factor x reference" on the per-repeat differences ``ours - factor*ref``.

    For a reference whose per-repeat value can be near zero or negative (the added
    cost of simplejwt's stateless class is within the noise of the floor), a ratio
    per repeat is meaningless; the difference is not. PASS when the interval of the
    mean difference lies at or below 0, FAIL when it lies above.
    """
    if len(ours) != len(reference):
        raise ValueError("paired samples must have the same number of repeats")
    return judge([a - factor * b for a, b in zip(ours, reference, strict=True)], 0.0, "at_most")


def combine(*verdicts: str) -> str:
    """Return the verdict of a target made of several conditions: all must PASS."""
    if all(v == PASS for v in verdicts):
        return PASS
    if any(v == FAIL for v in verdicts):
        return FAIL
    return INCONCLUSIVE


def exact(condition: bool) -> str:
    """The verdict of a count or a threshold measured exactly (SQL statements, round trips)."""
    return PASS if condition else FAIL
