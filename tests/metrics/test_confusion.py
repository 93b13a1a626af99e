"""ConfusionMatrix: hand-worked values, empty-class conventions, torchmetrics as an independent reference."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from segstudio.core.errors import DatasetError
from segstudio.core.metrics import ConfusionMatrix


def test_hand_worked():
    cm = ConfusionMatrix(3)
    cm.update(np.array([[0, 1], [1, 1]]), np.array([[0, 1], [-1, 0]]))  # ignore pixel skipped
    r = cm.compute()
    assert r["matrix"] == [[1, 1, 0], [0, 1, 0], [0, 0, 0]]
    assert r["iou"][:2] == [0.5, 0.5] and math.isnan(r["iou"][2])
    assert r["dice"][:2] == pytest.approx([2 / 3, 2 / 3])
    assert r["precision"][:2] == [1.0, 0.5] and r["recall"][:2] == [0.5, 1.0]
    assert r["pa"][:2] == r["recall"][:2] and math.isnan(r["pa"][2])
    assert r["miou"] == 0.5 and r["mpa"] == 0.75 and r["mprecision"] == 0.75
    assert r["accuracy"] == pytest.approx(2 / 3)


def test_class_present_but_never_predicted_scores_zero():
    cm = ConfusionMatrix(2)
    cm.update(torch.zeros(4, dtype=torch.long), torch.tensor([0, 0, 1, 1]))
    r = cm.compute()
    assert r["precision"][1] == 0.0 and r["recall"][1] == 0.0 and r["iou"][1] == 0.0
    assert r["miou"] == pytest.approx(0.25)


def test_streaming_logits_and_merge():
    torch.manual_seed(0)
    logits = torch.randn(3, 4, 5, 6)
    target = torch.randint(-1, 4, (3, 5, 6))
    a = ConfusionMatrix(4)
    a.update(logits, target)  # arg-maxed
    b = ConfusionMatrix(4)
    for i in range(3):
        b.update(logits[i : i + 1].argmax(1).numpy(), target[i : i + 1].numpy())
    assert torch.equal(a.matrix, b.matrix)
    c = ConfusionMatrix(4)
    c += a
    c += b
    assert torch.equal(c.matrix, 2 * a.matrix)
    c.reset()
    assert int(c.matrix.sum()) == 0


def test_out_of_range_is_an_error():
    cm = ConfusionMatrix(2)
    with pytest.raises(DatasetError, match="target has class id 2"):
        cm.update(np.zeros((2, 2), int), np.full((2, 2), 2))
    with pytest.raises(DatasetError, match="prediction has class id 5"):
        cm.update(np.full((2, 2), 5), np.zeros((2, 2), int))


@pytest.mark.parametrize("n_cls", [2, 3, 5])
def test_against_torchmetrics(n_cls):
    tm = pytest.importorskip("torchmetrics.classification")
    g = torch.Generator().manual_seed(n_cls)
    target = torch.randint(0, n_cls, (4, 16, 16), generator=g)
    pred = torch.where(torch.rand(4, 16, 16, generator=g) < 0.7, target, torch.randint(0, n_cls, (4, 16, 16), generator=g))
    target[:, :2] = -1
    cm = ConfusionMatrix(n_cls)
    cm.update(pred, target)
    r = cm.compute()
    kw = dict(num_classes=n_cls, ignore_index=-1, average="none")
    ref_iou = tm.MulticlassJaccardIndex(**kw)(pred, target)
    ref_prec = tm.MulticlassPrecision(**kw)(pred, target)
    ref_rec = tm.MulticlassRecall(**kw)(pred, target)
    ref_f1 = tm.MulticlassF1Score(**kw)(pred, target)  # F1 == Dice
    ref_acc = tm.MulticlassAccuracy(num_classes=n_cls, ignore_index=-1, average="micro")(pred, target)
    assert np.allclose(r["iou"], ref_iou.numpy(), atol=1e-6)
    assert np.allclose(r["precision"], ref_prec.numpy(), atol=1e-6)
    assert np.allclose(r["recall"], ref_rec.numpy(), atol=1e-6)
    assert np.allclose(r["dice"], ref_f1.numpy(), atol=1e-6)
    assert r["accuracy"] == pytest.approx(ref_acc.item(), abs=1e-6)
    assert r["miou"] == pytest.approx(ref_iou.mean().item(), abs=1e-6)


def test_numpy_float_label_maps_and_bool():
    cm = ConfusionMatrix(2)
    cm.update(np.array([[0.0, 1.0]]), np.array([[True, True]]))
    assert cm.matrix.tolist() == [[0, 0], [1, 1]]


def test_torch_counts_path_matches_numpy():
    # the tensor path serves GPU tensors; run it on CPU tensors here
    from segstudio.core.metrics.confusion import confusion_counts, torch_confusion_counts

    g = torch.Generator().manual_seed(5)
    t = torch.randint(-1, 4, (2, 9, 11), generator=g)
    p = torch.randint(0, 4, (2, 9, 11), generator=g)
    assert torch_confusion_counts(p, t, 4).tolist() == confusion_counts(p.numpy(), t.numpy(), 4).tolist()
    assert torch_confusion_counts(p, torch.full_like(t, -1), 4).sum() == 0
    with pytest.raises(DatasetError, match="prediction has class id 4"):
        torch_confusion_counts(torch.full_like(t, 4), t.clamp_min(0), 4)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 5), st.lists(st.tuples(st.integers(-1, 4), st.integers(0, 4)), min_size=0, max_size=60))
def test_matches_brute_force_counting(n_cls, pixels):
    pixels = [(t % (n_cls + 1) - 1 if t >= 0 else -1, p % n_cls) for t, p in pixels]
    t = np.array([t for t, _ in pixels], dtype=np.int64)
    p = np.array([p for _, p in pixels], dtype=np.int64)
    cm = ConfusionMatrix(n_cls)
    half = len(pixels) // 2
    cm.update(p[:half], t[:half])
    cm.update(torch.from_numpy(p[half:]), torch.from_numpy(t[half:]))
    r = cm.compute()
    for c in range(n_cls):
        tp = sum(1 for a, b in pixels if a == c and b == c)
        fp = sum(1 for a, b in pixels if a != c and a != -1 and b == c)
        fn = sum(1 for a, b in pixels if a == c and b != c)
        if tp + fp + fn == 0:
            assert math.isnan(r["iou"][c]) and math.isnan(r["precision"][c])
        else:
            assert r["iou"][c] == pytest.approx(tp / (tp + fp + fn))
            assert r["precision"][c] == pytest.approx(tp / (tp + fp) if tp + fp else 0.0)
            assert r["recall"][c] == pytest.approx(tp / (tp + fn) if tp + fn else 0.0)
    valid = [(a, b) for a, b in pixels if a != -1]
    if valid:
        assert r["accuracy"] == pytest.approx(sum(a == b for a, b in valid) / len(valid))
    else:
        assert math.isnan(r["accuracy"])
