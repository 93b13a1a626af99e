"""Dataset kinds (labelme, images/+masks/, VOC), image formats, errors naming files, rasterization cache."""
import json
import os

import numpy as np
import pytest
import torch
from PIL import Image

from segstudio.core.data import detect_kind, open_dataset
from segstudio.core.errors import DatasetError, MaskError


def _png(path, arr):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path)


def _masks_root(tmp_path, n=4, gray16=False, shape=(20, 30)):
    root = tmp_path / "ds"
    rng = np.random.default_rng(0)
    for i in range(n):
        if gray16:
            img = (rng.random(shape) * 65535).astype(np.uint16)
        else:
            img = rng.integers(0, 256, (*shape, 3), dtype=np.uint8)
        _png(root / "images" / f"im{i}.png", img)
        mask = np.zeros(shape, np.uint8)
        mask[2:8, 3:12] = 1 + i % 2
        _png(root / "masks" / f"im{i}.png", mask)
    (root / "classes.txt").write_text("_background_\na\nb\n")
    return root


def test_masks_dataset_rgb(tmp_path):
    root = _masks_root(tmp_path)
    ds = open_dataset(root)
    assert ds.kind == "masks" and len(ds) == 4 and ds.names == ["im0", "im1", "im2", "im3"]
    assert ds.class_names == ["_background_", "a", "b"]
    item = ds[1]
    assert item["image"].dtype == torch.float32 and item["image"].shape == (3, 20, 30)
    assert item["mask"].dtype == torch.int64 and set(item["mask"].unique().tolist()) == {0, 2}
    img = np.array(Image.open(root / "images" / "im1.png"))
    assert torch.allclose(item["image"], torch.from_numpy(img).permute(2, 0, 1).float() / 255)
    assert [ds.classes_present(i) for i in range(4)] == [{1}, {2}, {1}, {2}]


def test_masks_dataset_16bit_grayscale_letterboxed(tmp_path):
    root = _masks_root(tmp_path, gray16=True)
    ds = open_dataset(root, img_size=60, in_channels=1)
    item = ds[0]
    assert item["image"].shape == (1, 60, 60) and item["mask"].shape == (60, 60)
    raw = np.asarray(Image.open(root / "images" / "im0.png"))
    assert raw.dtype == np.uint16 and 0 <= float(item["image"].min()) and float(item["image"].max()) <= 1
    # 20x30 -> 40x60 centred: rows 0..9 and 50..59 are ignore padding
    assert bool((item["mask"][:10] == -1).all()) and bool((item["mask"][50:] == -1).all())
    assert bool((item["mask"][10:50] >= 0).all())
    assert ds.detect_channels() == 1
    rgb = open_dataset(root, img_size=60)[0]["image"]  # grayscale repeated to 3 channels
    assert rgb.shape == (3, 60, 60) and torch.equal(rgb[0], rgb[2])


def test_masks_dataset_unpaired_files_are_named(tmp_path):
    root = _masks_root(tmp_path)
    os.remove(root / "masks" / "im2.png")
    _png(root / "masks" / "orphan.png", np.zeros((20, 30), np.uint8))
    with pytest.raises(DatasetError) as e:
        open_dataset(root)
    msg = str(e.value)
    assert str(root) in msg and "im2" in msg and "orphan" in msg


def test_mask_errors_name_the_file(tmp_path):
    root = _masks_root(tmp_path)
    _png(root / "masks" / "im0.png", np.full((20, 30), 7, np.uint8))  # class 7 of 3
    ds = open_dataset(root)
    with pytest.raises(MaskError, match="im0.png"):
        ds[0]
    _png(root / "masks" / "im1.png", np.zeros((5, 5), np.uint8))
    with pytest.raises(MaskError, match="im1.png"):
        ds[1]


def test_not_a_dataset_and_no_pairs(tmp_path):
    with pytest.raises(DatasetError, match="not found"):
        open_dataset(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="not a dataset") as e:
        open_dataset(tmp_path / "empty")
    assert str(tmp_path / "empty") in str(e.value)
    _png(tmp_path / "unannotated" / "a.png", np.zeros((4, 4), np.uint8))
    with pytest.raises(DatasetError, match="no annotations: 1 image"):
        open_dataset(tmp_path / "unannotated")
    (tmp_path / "nopairs" / "images").mkdir(parents=True)
    (tmp_path / "nopairs" / "masks").mkdir()
    (tmp_path / "nopairs" / "classes.txt").write_text("_background_\nx\n")
    with pytest.raises(DatasetError, match="no image/mask pairs"):
        open_dataset(tmp_path / "nopairs")
    with pytest.raises(DatasetError, match="unknown dataset kind"):
        open_dataset(tmp_path / "empty", kind="coco")


def test_voc_dataset(tmp_path):
    root = tmp_path / "voc"
    for i in range(3):
        _png(root / "JPEGImages" / f"2011_{i}.png", np.full((16, 16, 3), 40 * i, np.uint8))
    _png(root / "JPEGImages" / "extra.png", np.zeros((16, 16, 3), np.uint8))  # no segmentation: skipped
    for i in range(3):
        lab = np.zeros((16, 16), np.uint8)
        lab[4:8, 4:8] = i + 1
        lab[0, :] = 255
        im = Image.fromarray(lab, "P")
        im.putpalette(list(range(256)) * 3)
        (root / "SegmentationClass").mkdir(parents=True, exist_ok=True)
        im.save(root / "SegmentationClass" / f"2011_{i}.png")
    (root / "class_names.txt").write_text("_background_\nc1\nc2\nc3\n")
    (root / "ImageSets" / "Segmentation").mkdir(parents=True)
    (root / "ImageSets" / "Segmentation" / "train.txt").write_text("2011_0\n2011_2\n")
    ds = open_dataset(root)
    assert detect_kind(root) == "voc" and ds.kind == "voc" and len(ds) == 3
    assert [p.name for p in ds.skipped] == ["extra.png"]
    m = ds[2]["mask"]
    assert bool((m[0] == -1).all()) and set(m.unique().tolist()) == {-1, 0, 3}
    assert open_dataset(root, image_set="train").names == ["2011_0", "2011_2"]
    with pytest.raises(DatasetError, match="image set"):
        open_dataset(root, image_set="val")


def test_labelme_dataset_sample(sample_project_ro):
    ds = open_dataset(sample_project_ro, img_size=64)
    assert ds.kind == "labelme" and len(ds) == 24 and ds.class_names == ["_background_", "lesion", "cyst"]
    item = ds[3]
    assert item["image"].shape == (3, 64, 64) and item["mask"].shape == (64, 64) and item["name"] == "img_003"
    full = open_dataset(sample_project_ro)
    raw_img, raw_mask = full.load_raw(3)
    assert raw_img.shape == (256, 256, 3) and raw_mask.shape == (256, 256)
    assert set(np.unique(raw_mask)) <= {0, 1, 2}
    assert full.classes_present(3) == {int(v) for v in np.unique(raw_mask) if v > 0}


def test_labelme_unannotated_images_skipped_and_foreign_json_ignored(sample_project):
    os.remove(sample_project / "img_005.json")
    (sample_project / "config.json").write_text(json.dumps({"some": "settings"}))
    ds = open_dataset(sample_project)
    assert len(ds) == 23 and "img_005" not in ds.names
    assert {p.name for p in ds.skipped} == {"img_005.png", "config.json"}


def test_labelme_errors_list_files(sample_project):
    doc = json.loads((sample_project / "img_001.json").read_text())
    doc["shapes"][0]["label"] = "tumour"
    (sample_project / "img_001.json").write_text(json.dumps(doc))
    (sample_project / "img_002.json").write_text("{broken")
    with pytest.raises(DatasetError) as e:
        open_dataset(sample_project)
    assert "img_002.json" in str(e.value)
    os.remove(sample_project / "img_002.json")
    with pytest.raises(DatasetError, match="tumour.*img_001.json"):
        open_dataset(sample_project)
    ds = open_dataset(sample_project, labels=["lesion", "cyst", "tumour"])
    assert ds.class_names[-1] == "tumour" and 3 in ds.classes_present(ds.names.index("img_001"))


def test_labelme_cache_invalidated_by_editing_the_json(sample_project, tmp_path):
    ds = open_dataset(sample_project, cache_dir=tmp_path / "cache")
    i = ds.names.index("img_000")
    before = ds[i]["mask"].clone()
    ds[i]
    assert (ds.cache.misses, ds.cache.hits) == (1, 1)
    jp = sample_project / "img_000.json"
    doc = json.loads(jp.read_text())
    doc["shapes"] = [{"label": "cyst", "points": [[0, 0], [40, 0], [40, 40], [0, 40]], "shape_type": "polygon",
                      "group_id": None, "flags": {}, "description": ""}]
    jp.write_text(json.dumps(doc))
    after = ds[i]["mask"]
    assert ds.cache.misses == 2 and not torch.equal(before, after)
    assert bool((after[5:35, 5:35] == 2).all()) and int((after == 2).sum()) < 45 * 45
    # a second dataset with the same cache_dir reads the rasterized mask from disk
    ds2 = open_dataset(sample_project, cache_dir=tmp_path / "cache")
    assert torch.equal(ds2[i]["mask"], after) and ds2.cache.misses == 0 and ds2.cache.hits == 1


def test_subset_and_options(sample_project_ro):
    ds = open_dataset(sample_project_ro, img_size=32)
    sub = ds.subset([2, 5], transform=lambda im, m: (im * 0, m))
    assert len(sub) == 2 and sub.names == [ds.names[2], ds.names[5]]
    assert float(sub[0]["image"].abs().max()) == 0.0 and float(ds[2]["image"].abs().max()) > 0
    assert ds.with_options(img_size=16)[0]["image"].shape == (3, 16, 16)


def test_labelme_json_whose_image_is_missing_is_named(sample_project):
    os.remove(sample_project / "img_007.png")
    with pytest.raises(DatasetError, match="img_007.json"):
        open_dataset(sample_project)


def test_dataset_pickles_for_worker_processes_and_batches(sample_project_ro):
    import pickle

    ds = open_dataset(sample_project_ro, img_size=32)
    ds[0]
    clone = pickle.loads(pickle.dumps(ds))
    assert clone.cache.misses == 1 and len(clone.cache._mem) == 0  # memory cache is not shipped
    assert torch.equal(clone[0]["mask"], ds[0]["mask"])
    batch = next(iter(torch.utils.data.DataLoader(ds, batch_size=4)))
    assert batch["image"].shape == (4, 3, 32, 32) and batch["mask"].shape == (4, 32, 32)
    assert batch["name"] == ds.names[:4]


def test_image_size_from_the_header_matches_the_decoded_image(tmp_path):
    ds = open_dataset(_masks_root(tmp_path, n=2, shape=(20, 30)))
    assert [ds.image_size(i) for i in range(2)] == [(20, 30), (20, 30)] == [ds.load_raw(i)[0].shape[:2]
                                                                            for i in range(2)]
    assert ds.subset([1]).image_size(0) == (20, 30)
