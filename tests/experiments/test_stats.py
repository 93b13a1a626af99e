"""Our Wilcoxon signed-rank test (segstudio.core.experiments.stats) against scipy.stats.wilcoxon."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps

from segstudio.core.experiments.stats import rank_average, wilcoxon


def _cases():
    rng = np.random.default_rng(11)
    for n in range(1, 31):
        for kind in ("continuous", "ties", "zeros", "ties+zeros", "shifted"):
            for _ in range(2):
                x = rng.normal(size=n)
                if kind == "continuous":
                    y = rng.normal(size=n)
                elif kind == "shifted":
                    y = x - 0.6 + rng.normal(scale=0.5, size=n)
                else:
                    x = rng.integers(0, 6, size=n).astype(float)
                    y = rng.integers(0, 6, size=n).astype(float)
                    if kind == "ties":   # ties but no zeros
                        y = np.where(x == y, y + 1, y)
                    elif kind == "zeros":  # zeros but distinct non-zero magnitudes
                        d = rng.permutation(np.arange(1, n + 1)) * rng.choice([-1, 1], size=n)
                        d[rng.random(n) < 0.3] = 0
                        y = x - d
                yield kind, x, y


@pytest.mark.parametrize("kind,x,y", list(_cases()))
def test_agrees_with_scipy_default(kind, x, y):
    d = x - y
    if not np.any(d != 0):
        res = wilcoxon(x, y)
        assert res.pvalue == 1.0 and res.statistic == 0 and "zero" in res.note
        return
    ours = wilcoxon(x, y)
    ref = sps.wilcoxon(x, y)
    assert ours.statistic == pytest.approx(float(ref.statistic), abs=1e-9)
    assert ours.pvalue == pytest.approx(float(ref.pvalue), rel=1e-7, abs=1e-12), (kind, ours, ref)
    assert ours.n == int(np.count_nonzero(d)) and ours.zeros == len(d) - ours.n


@pytest.mark.parametrize("correction", [False, True])
def test_asymptotic_agrees_with_scipy(correction):
    rng = np.random.default_rng(5)
    for n in (5, 12, 20, 30, 60, 120):
        for _ in range(10):
            x = np.round(rng.normal(size=n), 1)      # rounding makes ties and zeros
            y = np.round(rng.normal(size=n) + 0.2, 1)
            if not np.any(x != y):
                continue
            ours = wilcoxon(x, y, method="asymptotic", correction=correction)
            ref = sps.wilcoxon(x, y, method="asymptotic", correction=correction)
            assert ours.statistic == pytest.approx(float(ref.statistic))
            assert ours.pvalue == pytest.approx(float(ref.pvalue), rel=1e-9)


def test_exact_agrees_with_scipy_without_ties():
    rng = np.random.default_rng(7)
    for n in range(1, 26):
        x, y = rng.normal(size=n), rng.normal(size=n) + 0.3
        ours, ref = wilcoxon(x, y, method="exact"), sps.wilcoxon(x, y, method="exact")
        assert ours.method == "exact"
        assert ours.pvalue == pytest.approx(float(ref.pvalue), rel=1e-9)


def test_large_samples_use_the_normal_approximation():
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=80), rng.normal(size=80)
    ours, ref = wilcoxon(x, y), sps.wilcoxon(x, y)
    assert ours.method == "asymptotic"
    assert ours.pvalue == pytest.approx(float(ref.pvalue), rel=1e-9)


def test_known_textbook_value():
    # every difference positive, n = 6: R- = 0, exact two-sided p = 2 / 2^6
    res = wilcoxon([2, 3, 4, 5, 6, 7], [1, 1, 1, 1, 1, 0])
    assert res.statistic == 0 and res.pvalue == pytest.approx(2 / 64) and res.method == "exact"


def test_symmetric_in_the_order_of_the_samples():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=15), rng.normal(size=15)
    assert wilcoxon(x, y).pvalue == pytest.approx(wilcoxon(y, x).pvalue)


def test_errors_and_all_zero_differences():
    with pytest.raises(ValueError, match="same length"):
        wilcoxon([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match="no pairs"):
        wilcoxon([], [])
    with pytest.raises(ValueError, match="nan"):
        wilcoxon([1.0, float("nan")], [0.0, 1.0])
    with pytest.raises(ValueError, match="unknown method"):
        wilcoxon([1], [2], method="bogus")
    res = wilcoxon([0.5, 0.7, 0.9], [0.5, 0.7, 0.9])
    assert (res.statistic, res.pvalue, res.n, res.zeros, res.method) == (0.0, 1.0, 0, 3, "none")
    assert "all 3 differences are zero" in res.note


def test_rank_average_matches_scipy():
    rng = np.random.default_rng(2)
    for _ in range(20):
        v = rng.integers(0, 5, size=12).astype(float)
        ranks, ties = rank_average(v)
        np.testing.assert_allclose(ranks, sps.rankdata(v))
        _, counts = np.unique(v, return_counts=True)
        assert sorted(ties) == sorted(int(c) for c in counts if c > 1)
