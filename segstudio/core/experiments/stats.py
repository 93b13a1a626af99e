"""The paired, two-sided Wilcoxon signed-rank test, written here (numpy only) so that the app's core does not
depend on scipy.stats for it; ``tests/experiments/test_stats.py`` checks it against ``scipy.stats.wilcoxon``.

It follows scipy's defaults (``zero_method="wilcox"``, ``correction=False``, ``method="auto"``):

* zero differences are dropped before ranking (Wilcoxon's own treatment); ``n`` is the count left;
* the absolute non-zero differences get average ranks (ties share the mean of their ranks);
* ``statistic`` = min(R+, R-), the smaller of the rank sums of the positive and the negative differences;
* p-value, ``method="auto"`` (scipy's choice): with more than 50 pairs (zeros included) the normal
  approximation; with at most 50, no ties and no zeros, the **exact** null distribution of R+ (every one of the
  2^n sign patterns equally likely); with ties or zeros and at most 13 pairs, the exact distribution of R+ over
  the sign patterns of the tied (average) ranks, which is what scipy's permutation test enumerates; otherwise
  the normal approximation with the tie-corrected variance
  ``(n(n+1)(2n+1) - sum(t^3 - t)/2) / 24`` (``t``: sizes of the tie groups) and, with ``correction=True``,
  the continuity correction (``|z|`` reduced by ``0.5 / sd``).  Exact two-sided p = 2 min(P(R+ <= r),
  P(R+ >= r)), clipped to 1.
* When every difference is zero (nothing to rank) the two samples agree on every pair: the result is
  ``statistic`` 0, ``pvalue`` 1.0 and a ``note`` saying so, not an error, so that a report over all pairs of
  runs still completes (scipy returns 1.0 for small samples and nan for large ones here).
* Unequal lengths, no pairs at all, or a non-finite value raise :class:`ValueError` (callers name the runs).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

METHODS = ("auto", "exact", "asymptotic")
#: scipy's limits for ``method="auto"``
EXACT_MAX_N, PERMUTATION_MAX_N = 50, 13


@dataclass(frozen=True)
class WilcoxonResult:
    statistic: float      # min(R+, R-)
    pvalue: float         # two-sided
    n: int                # non-zero differences ranked
    zeros: int            # zero differences dropped
    method: str           # "exact", "asymptotic" or "none" (every difference zero)
    note: str = ""


def rank_average(values: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """Average ranks (1-based) of ``values`` and the sizes of the tie groups (groups of one left out)."""
    order = np.argsort(values, kind="mergesort")
    s = values[order]
    ranks = np.empty(len(values), dtype=np.float64)
    ties = []
    i = 0
    while i < len(s):
        j = i
        while j + 1 < len(s) and s[j + 1] == s[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        if j > i:
            ties.append(j - i + 1)
        i = j + 1
    return ranks, ties


def _exact_pvalue(ranks: np.ndarray, r_plus: float) -> float:
    """Two-sided p of R+ = ``r_plus`` under the exact sign-flip distribution of ``ranks`` (halves allowed)."""
    doubled = np.rint(ranks * 2).astype(np.int64)
    pmf = np.zeros(int(doubled.sum()) + 1, dtype=np.float64)
    pmf[0] = 1.0
    top = 0
    for r in doubled:                       # each rank is in R+ or not, with probability 1/2
        shifted = pmf[: top + 1].copy()
        pmf[: top + 1] *= 0.5
        pmf[r: r + top + 1] += 0.5 * shifted
        top += int(r)
    obs = int(round(r_plus * 2))
    cdf, sf = float(pmf[: obs + 1].sum()), float(pmf[obs:].sum())
    return min(1.0, 2.0 * min(cdf, sf))


def _normal_pvalue(n: int, ties: list[int], r_plus: float, correction: bool) -> float:
    mean = n * (n + 1) / 4
    var = (n * (n + 1) * (2 * n + 1) - sum(t ** 3 - t for t in ties) / 2) / 24
    if var <= 0:
        return 1.0
    sd = math.sqrt(var)
    z = (r_plus - mean) / sd
    if correction:
        z -= math.copysign(0.5 / sd, z) if z != 0 else 0.0
    return min(1.0, math.erfc(abs(z) / math.sqrt(2)))


def wilcoxon(x: Sequence[float], y: Sequence[float], *, correction: bool = False,
             method: str = "auto") -> WilcoxonResult:
    """Paired two-sided Wilcoxon signed-rank test of ``x`` against ``y`` (see the module docstring)."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; known: {', '.join(METHODS)}")
    a, b = np.asarray(x, dtype=np.float64).ravel(), np.asarray(y, dtype=np.float64).ravel()
    if a.shape != b.shape:
        raise ValueError(f"paired samples must have the same length, got {a.size} and {b.size}")
    if a.size == 0:
        raise ValueError("no pairs to test")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise ValueError("the samples contain nan or infinite values")
    d = a - b
    nonzero = d[d != 0]
    n, zeros = int(nonzero.size), int(d.size - nonzero.size)
    if n == 0:
        return WilcoxonResult(0.0, 1.0, 0, zeros, "none",
                              note=f"all {zeros} differences are zero: nothing to rank, p = 1")
    ranks, ties = rank_average(np.abs(nonzero))
    r_plus = float(ranks[nonzero > 0].sum())
    r_minus = float(ranks[nonzero < 0].sum())
    if method == "auto":
        if d.size > EXACT_MAX_N:
            method = "asymptotic"
        elif not ties and not zeros:
            method = "exact"
        else:
            method = "exact" if d.size <= PERMUTATION_MAX_N else "asymptotic"
    if method == "exact":
        p = _exact_pvalue(ranks, r_plus)
    else:
        p = _normal_pvalue(n, ties, r_plus, correction)
    note = f"{zeros} zero difference(s) dropped" if zeros else ""
    return WilcoxonResult(min(r_plus, r_minus), p, n, zeros, method, note)
