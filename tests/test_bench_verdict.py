"""The benchmark verdicts (benchmarks/verdict.py, report.py) can fail.

Issue 12: target 6 printed PASS at 0.51x because its verdict was "within the noise
band". Each verdict now needs the whole 95 % interval of the per-repeat paired ratio
on the right side of the target; these cases pin PASS, FAIL and INCONCLUSIVE.
"""

from __future__ import annotations

from typing import Any

import pytest

from benchmarks import report, verdict

# ours / simplejwt req/s per repeat, from the second run (518 vs 908 req/s median).
BIMODAL_OURS = [464.0, 968.0, 470.0, 930.0, 518.0]
SIMPLE = [900.0, 910.0, 905.0, 915.0, 908.0]


def test_t_interval_matches_a_hand_computation() -> None:
    """Mean 1.0, sample sd 0.1, n=4: half width t(3)=3.182 x 0.1 / 2."""
    ci = verdict.interval([0.9, 1.0, 1.1, 1.0])
    sd = (0.02 / 3) ** 0.5
    assert ci.mean == pytest.approx(1.0)
    assert ci.high - ci.mean == pytest.approx(3.182 * sd / 2)
    assert verdict.t_critical(200) == 1.960
    assert verdict.t_critical(35) == 2.042  # conservative: the row for 30


def test_at_least_fails_when_the_whole_interval_is_below() -> None:
    """Consistently 0.9x against a 1.3x target: FAIL, however small the spread."""
    ratios = verdict.paired_ratios([810.0, 820.0, 815.0, 805.0], [900.0, 905.0, 910.0, 895.0])
    result, ci = verdict.judge(ratios, 1.3, "at_least")
    assert result == verdict.FAIL
    assert ci.high < 1.3


def test_at_least_passes_only_when_the_lower_end_clears() -> None:
    result, ci = verdict.judge([1.42, 1.45, 1.40, 1.44, 1.43], 1.3, "at_least")
    assert result == verdict.PASS
    assert ci.low >= 1.3


def test_a_bimodal_sample_is_inconclusive_not_a_pass() -> None:
    """The issue's case: repeats from 0.5x to 1.06x against 1.0 were a PASS before."""
    ratios = verdict.paired_ratios(BIMODAL_OURS, SIMPLE)
    result, ci = verdict.judge(ratios, 1.0, "at_least")
    assert result == verdict.INCONCLUSIVE
    assert ci.low < 1.0 <= ci.high


def test_at_most_cases() -> None:
    assert verdict.judge([0.40, 0.42, 0.41], 0.5, "at_most")[0] == verdict.PASS
    assert verdict.judge([0.96, 0.84, 0.90], 0.5, "at_most")[0] == verdict.FAIL
    assert verdict.judge([0.2, 0.8, 0.4], 0.5, "at_most")[0] == verdict.INCONCLUSIVE


def test_one_repeat_is_never_a_pass() -> None:
    assert verdict.judge([10.0], 1.3, "at_least")[0] == verdict.INCONCLUSIVE


def test_within_a_factor_of_a_noisy_reference() -> None:
    """Differences, not ratios: the stateless reference's added cost can be negative."""
    stateless = [150.0, -40.0, 420.0, 160.0, 140.0]
    assert verdict.judge_within([100.0, -90.0, 400.0, 110.0, 120.0], stateless, 1.5)[0] == "PASS"
    assert verdict.judge_within([500.0, 480.0, 900.0, 520.0, 510.0], stateless, 1.5)[0] == "FAIL"


def test_combine_needs_every_condition() -> None:
    assert verdict.combine(verdict.PASS, verdict.PASS) == verdict.PASS
    assert verdict.combine(verdict.PASS, verdict.INCONCLUSIVE) == verdict.INCONCLUSIVE
    assert verdict.combine(verdict.INCONCLUSIVE, verdict.FAIL) == verdict.FAIL


def _http(ours: list[float]) -> dict[str, Any]:
    return {
        "variants": {
            "ours_cookie": {"rps_runs": ours, "rps": {"median": sorted(ours)[len(ours) // 2]}},
            "simplejwt": {"rps_runs": SIMPLE, "rps": {"median": 908.0}},
        }
    }


@pytest.mark.parametrize(
    ("ours", "expected"),
    [
        (BIMODAL_OURS, "FAIL"),  # the run: printed PASS before
        ([810.0, 820.0, 815.0, 805.0, 800.0], "FAIL"),
        ([1100.0, 1300.0, 1250.0, 1400.0, 1150.0], "INCONCLUSIVE"),  # 1.22x to 1.53x
        ([1400.0, 1410.0, 1390.0, 1405.0, 1395.0], "PASS"),
    ],
)
def test_http_target_of_the_report(ours: list[float], expected: str) -> None:
    """Target 6 as the report judges it: >= 1.3x, from the paired repeats."""
    (target,) = [t for t in report.evaluate({"http": _http(ours)}) if t.number == 6]
    assert target.verdict == expected, target.measured


def _request_variant(added: list[float], sql: int, round_trips: int) -> dict[str, Any]:
    return {
        "added_us_rounds": added,
        "added_us": {"median": sorted(added)[len(added) // 2]},
        "sql": sql,
        "cache_round_trips": round_trips,
    }


def test_default_mode_fails_on_a_round_trip_even_when_fast_enough() -> None:
    """Target 1: 0.4x is not enough while revocation still costs a Redis round trip."""
    simple = [900.0, 910.0, 905.0, 895.0]
    fast = [360.0, 364.0, 362.0, 358.0]
    variants = {
        "simplejwt": _request_variant(simple, 1, 0),
        "simplejwt_stateless": _request_variant([150.0, 160.0, 155.0, 150.0], 0, 0),
        "ours_cookie": _request_variant(fast, 1, 1),
        "ours_bearer": _request_variant(fast, 1, 1),
        "ours_cached": _request_variant([200.0, 202.0, 201.0, 199.0], 0, 0),
        "ours_cached_bearer": _request_variant([200.0, 202.0, 201.0, 199.0], 0, 0),
    }
    first, second = report.evaluate({"requests": {"variants": variants}})[:2]
    assert first.verdict == verdict.FAIL
    assert second.verdict == verdict.PASS, second.measured
    variants["ours_cookie"]["cache_round_trips"] = variants["ours_bearer"]["cache_round_trips"] = 0
    first = report.evaluate({"requests": {"variants": variants}})[0]
    assert first.verdict == verdict.PASS, first.measured
