"""Quick checks on the research data (../shared/data): mask conventions and label sets."""
import numpy as np
import pytest

from segstudio.core.data import open_dataset, split_indices

pytestmark = pytest.mark.shared_data


def test_ph2_masks_0_255_become_classes_0_1(shared_data):
    ds = open_dataset(shared_data / "ph2", img_size=96)
    assert ds.kind == "masks" and len(ds) == 160 and ds.class_names == ["_background_", "lesion"]
    item = ds[0]
    assert item["image"].shape == (3, 96, 96)
    assert set(item["mask"].unique().tolist()) == {-1, 0, 1}  # letterbox pads 765x574 with ignore


def test_ph2_labelme_folder_matches_masks(shared_data):
    lm = open_dataset(shared_data / "ph2" / "labelme")
    assert lm.kind == "labelme" and len(lm) == 160 and lm.class_names == ["_background_", "lesion"]
    masks = open_dataset(shared_data / "ph2")
    i = masks.names.index(lm.names[0])
    a, b = lm.load_raw(0)[1], masks.load_raw(i)[1]
    assert a.shape == b.shape and (a == b).mean() > 0.97  # traced outer contours, holes filled


def test_busi_three_classes_grayscale_and_stratified_split(shared_data):
    ds = open_dataset(shared_data / "busi")
    assert ds.class_names == ["_background_", "benign", "malignant"] and len(ds) == 518
    img, mask = ds.load_raw(0)
    assert img.ndim == 2 and set(np.unique(mask).tolist()) <= {0, 1, 2}
    sigs = [tuple(sorted(ds.classes_present(i))) for i in range(len(ds))]
    train, val = split_indices(None, 0.1, seed=0, signatures=sigs)
    assert len(val) == 52 and len(train) == 466
    for s in set(sigs):
        n, k = sigs.count(s), sum(1 for i in val if sigs[i] == s)
        assert abs(k - n * 0.1) < 1
