"""Stratified, seeded splits; k-fold; split files."""
import json
from collections import Counter

import pytest

from segstudio.core.data.splits import load_split, save_split, split_indices
from segstudio.core.errors import ConfigError, DatasetError

SIGS = [("a",)] * 60 + [("b",)] * 30 + [("a", "b")] * 10


def test_stratified_proportions():
    train, val = split_indices(None, 0.1, seed=1, signatures=SIGS)
    assert len(val) == 10 and len(train) == 90 and not set(train) & set(val)
    assert Counter(SIGS[i] for i in val) == {("a",): 6, ("b",): 3, ("a", "b"): 1}
    train, val = split_indices(None, 0.2, seed=1, signatures=SIGS)
    assert Counter(SIGS[i] for i in val) == {("a",): 12, ("b",): 6, ("a", "b"): 2}


def test_deterministic_and_seed_dependent():
    a = split_indices(None, 0.25, seed=3, signatures=SIGS)
    assert a == split_indices(None, 0.25, seed=3, signatures=SIGS)
    assert a != split_indices(None, 0.25, seed=4, signatures=SIGS)


def test_small_and_edge_cases():
    assert split_indices(None, 0.1, signatures=["x", "x"]) in (([0], [1]), ([1], [0]))
    assert split_indices(None, 0.0, signatures=["x"] * 3) == ([0, 1, 2], [])
    tr, va = split_indices(None, 0.5, signatures=["x"] * 3 + ["y"])
    assert len(va) == 2 and len(tr) == 2
    with pytest.raises(ConfigError):
        split_indices(None, 1.0, signatures=["x"] * 3)
    with pytest.raises(DatasetError):
        split_indices(None, 0.1, signatures=[])


def test_kfold_disjoint_cover_and_stratified():
    folds = [split_indices(None, seed=0, k_folds=5, fold=f, signatures=SIGS) for f in range(5)]
    vals = [set(v) for _, v in folds]
    assert set().union(*vals) == set(range(100))
    assert sum(len(v) for v in vals) == 100
    for (train, val) in folds:
        assert len(val) == 20 and set(train) == set(range(100)) - set(val)
        assert Counter(SIGS[i] for i in val) == {("a",): 12, ("b",): 6, ("a", "b"): 2}
    with pytest.raises(ConfigError):
        split_indices(None, k_folds=5, fold=5, signatures=SIGS)


def test_dataset_signatures(sample_project_ro):
    from segstudio.core.data import open_dataset

    ds = open_dataset(sample_project_ro)
    train, val = split_indices(ds, 0.25, seed=0)
    assert len(val) == 6 and len(train) == 18
    sig = Counter(ds.classes_present(i) for i in range(len(ds)))
    got = Counter(ds.classes_present(i) for i in val)
    for k, n in got.items():  # each signature's share within rounding
        assert abs(n - sig[k] * 0.25) < 1.0 + 1e-9


def test_save_load_split_roundtrip(tmp_path):
    p = save_split(tmp_path / "run" / "split.json", ["a", "b"], ["c"], seed=0)
    assert load_split(p) == (["a", "b"], ["c"])
    assert json.loads(p.read_text())["seed"] == 0
    with pytest.raises(DatasetError):
        save_split(tmp_path / "x.json", ["a"], ["a"])
    (tmp_path / "bad.json").write_text("{nope")
    with pytest.raises(DatasetError, match="bad.json"):
        load_split(tmp_path / "bad.json")
    with pytest.raises(DatasetError, match="not found"):
        load_split(tmp_path / "none.json")
