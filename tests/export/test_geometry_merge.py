"""merge_polygons: one polygon per multi-part instance (YOLO-seg), joined by the shortest bridges."""
from __future__ import annotations

import numpy as np
import pytest

from segstudio.core.annotation import shape_to_mask
from segstudio.core.export.geometry import (
    _delaunay_bridges,
    _pair_bridges,
    _tree_from,
    merge_polygons,
)


def _tree_length(parts, tree) -> float:
    return sum(float(np.hypot(*(parts[p][vi] - parts[c][vj]))) for p, links in enumerate(tree)
               for vi, c, vj in links)


def test_parts_are_walked_once_and_bridges_there_and_back():
    flat = merge_polygons([[0, 0, 10, 0, 10, 10], [20, 0, 30, 0, 30, 10], [0, 20, 10, 20, 10, 30]])
    path = np.asarray(flat).reshape(-1, 2).tolist()
    assert path == [[0, 0], [10, 0], [20, 0], [30, 0], [30, 10], [20, 0], [10, 0], [10, 10], [10, 20],
                    [10, 30], [0, 20], [10, 20], [10, 10], [0, 0]]
    assert merge_polygons([[1, 2, 3, 4, 5, 6]]) == [1, 2, 3, 4, 5, 6]


@pytest.mark.parametrize("n", [5, 30, 80])
def test_bridges_are_a_minimum_spanning_tree(n):
    """The Delaunay candidates (used above 24 parts) give the same tree length as every closest pair."""
    rng = np.random.default_rng(n)
    parts = [np.array([[0, 0], [3, 0], [3, 3], [0, 3]], float) + rng.integers(0, 400, 2) for _ in range(n)]
    exact = _tree_from(n, _pair_bridges(parts))
    assert _tree_length(parts, _tree_from(n, _delaunay_bridges(parts))) == pytest.approx(_tree_length(parts, exact))
    chain_total = sum(min(float(np.hypot(*(a[:, None] - b[None]).reshape(-1, 2).T).min()) for b in parts[:i])
                      for i, a in enumerate(parts) if i)  # the former greedy chain is never shorter
    assert _tree_length(parts, exact) <= chain_total + 1e-9


def test_many_parts_stay_fast_and_cover_the_union():
    """3000 collinear squares (a degenerate Delaunay input) and deep trees: no recursion limit, and the
    merged polygon's mask holds every part."""
    chain = [(np.array([[0, 0], [3, 0], [3, 3], [0, 3]], float) + [6 * i, 0]).ravel().tolist() for i in range(3000)]
    path = np.asarray(merge_polygons(chain)).reshape(-1, 2)
    # each part: its 4 vertices and back to its entry; each of the 2999 bridges: back to where it started
    assert len(path) == 3000 * 5 + 2999
    assert {tuple(v) for v in path} == {tuple(v) for p in chain for v in np.reshape(p, (-1, 2))}
    small = chain[:40]
    mask = shape_to_mask((8, 6 * 40 + 4), np.asarray(merge_polygons(small)).reshape(-1, 2).tolist(), "polygon")
    union = np.zeros_like(mask)
    for p in small:
        union |= shape_to_mask(mask.shape, np.asarray(p).reshape(-1, 2).tolist(), "polygon")
    assert not (union & ~mask).any()
