"""Experiment plans: every bad input is refused with `<plan file>: <reason>` before anything trains; the grid
expands into readable runs with their `segstudio train` arguments; the split never lets a held-out image into a
run's training folder."""
from __future__ import annotations

import json
import shlex

import pytest
import yaml

from segstudio.core.experiments.data import link_train_folder, make_split, read_pairs, training_names
from segstudio.core.experiments.plan import PlanError, load_plan


def write_plan(tmp_path, masks_data, **changes):
    doc = {"name": "exp", "data": str(masks_data), "split": {"holdout_every": 4}, "train": {"minutes": 1},
           "device": "cpu", "grid": {"model": ["unet"], "loss": ["dice_ce"], "augment": ["none"], "seed": [0]}}
    for key, value in changes.items():
        if value is None:
            doc.pop(key, None)
        elif key == "grid":
            doc["grid"] = {**doc["grid"], **value}
        else:
            doc[key] = value
    path = tmp_path / "plan.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return path


def refused(path) -> str:
    with pytest.raises(PlanError) as info:
        load_plan(path)
    text = str(info.value)
    assert text.startswith(f"{path}: "), text
    return text


@pytest.mark.parametrize("grid, words", [
    ({"model": ["unet", "nonet"]}, ["unknown model 'nonet'", "cbam_unet", "unetpp", "resnet_unet"]),
    ({"loss": ["dice_focal", "wobble"]}, ["unknown loss 'wobble'", "dice_focal", "tversky"]),
    ({"augment": ["heavy"]}, ["unknown preset 'heavy'", "none, light, strong"]),
    ({"augment": [{"rotate_degrees": 40}]}, ["unknown augmentation setting(s) rotate_degrees", "rotate_deg"]),
    ({"model": [{"name": "resnet_unet", "attention": "triple"}]}, ["attention must be one of", "dual"]),
    ({"model": [{"name": "unet", "colour": 3}]}, ["bad options", "colour"]),
    ({"seed": []}, ["grid.seed is empty"]),
    ({"model": ["unet", "unet"]}, ["duplicate runs unet-dice_ce-none-s0"]),
    ({"size": [1]}, ["unknown axis size"]),
])
def test_bad_grid_entries_are_refused_naming_the_known_ones(tmp_path, masks_data, grid, words):
    text = refused(write_plan(tmp_path, masks_data, grid=grid))
    for w in words:
        assert w in text


@pytest.mark.parametrize("changes, words", [
    ({"epochs_total": 3}, ["unknown key(s) epochs_total", "name, data, split, train, device, grid"]),
    ({"data": None}, ["data: the dataset folder is missing"]),
    ({"data": "no/such/folder"}, ["data folder not found"]),
    ({"split": {"folds": 20}}, ["20 folds need at least 20 images", "has 12"]),
    ({"split": {"holdout_every": 4, "folds": 3}}, ["exactly one of"]),
    ({"split": {"holdout_fraction": 1.5}}, ["between 0 and 1"]),
    ({"split": None}, ["split: missing"]),
    ({"train": {"minutes": 1, "learning_rate": 0.1}}, ["unknown key 'learning_rate'", "max_minutes", "img_size"]),
    ({"train": {"model": "unet"}}, ["train.model: set by grid.model"]),
    ({"train": {"minutes": 1, "max_minutes": 2}}, ["given twice"]),
    ({"train": {"img_size": 33}}, ["img_size: must be a multiple of 32"]),
    ({"train": {"config": "clever"}}, ["train.config: 'clever' is not one of defaults, auto"]),
    ({"device": "tpu"}, ["device: 'tpu'"]),
    ({"grid": None}, ["grid: missing or empty"]),
])
def test_bad_plans_are_refused(tmp_path, masks_data, changes, words):
    text = refused(write_plan(tmp_path, masks_data, **changes))
    for w in words:
        assert w in text


def test_too_few_images_for_the_folds_says_so(tmp_path, make_masks):
    data = make_masks(tmp_path / "small", n=3)
    text = refused(write_plan(tmp_path, data, split={"folds": 5}))
    assert f"5 folds need at least 5 images; {data} has 3" in text


def test_a_folder_that_is_not_a_mask_dataset_and_python_tags_are_refused(tmp_path, masks_data):
    (tmp_path / "empty").mkdir()
    assert "images/ + masks/" in refused(write_plan(tmp_path, tmp_path / "empty"))
    p = tmp_path / "evil.yaml"
    p.write_text("name: !!python/object/apply:os.system ['echo hi']\n", encoding="utf-8")
    assert "not valid YAML" in refused(p)
    assert "plan file not found" in refused(tmp_path / "missing.yaml")


def test_grid_expands_model_options_augment_overrides_and_seeds(tmp_path, masks_data):
    path = write_plan(tmp_path, masks_data, train={"minutes": 1.5, "img_size": 64, "early_stopping": 8},
                      grid={"model": ["unet", {"name": "resnet_unet", "encoder": "resnet18", "attention": "dual",
                                               "label": "r18dual"}],
                            "loss": ["dice_focal"],
                            "augment": ["none", {"preset": "light", "rotate_deg": 40, "shear_p": 0.5}],
                            "seed": [0, 1]})
    plan = load_plan(path)
    runs = plan.runs()
    assert len(runs) == 2 * 1 * 2 * 2
    ids = [r.id for r in runs]
    assert ids[0] == "unet-dice_focal-none-s0"
    assert "r18dual-dice_focal-light+rotate_deg40+shear_p0.5-s1" in ids
    assert len(set(ids)) == len(ids)
    last = runs[-1]
    assert last.params == {"model": "r18dual", "loss": "dice_focal", "augment": "light+rotate_deg40+shear_p0.5",
                           "seed": 1}
    # the arguments `segstudio train` gets, parsed back by its own parser
    from segstudio.cli import build_parser
    from segstudio.commands.train import build_config

    args = build_parser("train").parse_args(["train", "--data", str(masks_data), "--out", str(tmp_path / "r"),
                                             *last.train_args])
    cfg = build_config(args)
    assert (cfg.model, cfg.loss, cfg.augment, cfg.seed) == ("resnet_unet", "dice_focal", "light", 1)
    assert cfg.model_kwargs == {"encoder": "resnet18", "attention": "dual"}
    assert cfg.augment_overrides == {"rotate_deg": 40.0, "shear_p": 0.5}
    assert (cfg.max_minutes, cfg.img_size, cfg.patience) == (1.5, 64, 8)
    assert args.config == "defaults" and args.quiet


def test_folds_make_one_run_per_fold(tmp_path, masks_data):
    plan = load_plan(write_plan(tmp_path, masks_data, split={"folds": 3, "seed": 2}, grid={"seed": [0, 1]}))
    runs = plan.runs()
    assert [(r.params["seed"], r.fold) for r in runs] == [(s, f) for s in (0, 1) for f in range(3)]
    assert runs[4].id == "unet-dice_ce-none-s1-f1"


def test_holdout_split_is_stratified_seeded_and_never_leaks_into_training(tmp_path, masks_data):
    pairs = read_pairs(masks_data)
    split = make_split(pairs, {"holdout_fraction": 0.25, "stratified": True, "seed": 3})
    assert split == make_split(pairs, {"holdout_fraction": 0.25, "stratified": True, "seed": 3})
    assert len(split["holdout"]) == 3 and len(split["train"]) == 9
    assert not set(split["holdout"]) & set(split["train"])
    cysts = {f"img{i:02d}.png" for i in range(0, 12, 3)}     # 4 of 12 images hold the second class
    assert len(cysts & set(split["holdout"])) == 1            # its quarter of the held-out images
    folder = link_train_folder(pairs, training_names(split, None), tmp_path / "train")
    assert sorted(p.name for p in (folder / "images").iterdir()) == sorted(split["train"])
    assert sorted(p.name for p in (folder / "masks").iterdir()) == sorted(split["train"])
    assert (folder / "classes.txt").read_text() == (masks_data / "classes.txt").read_text()
    # a folder left with a held-out image in it is cleaned
    (folder / "images" / split["holdout"][0]).symlink_to(masks_data / "images" / split["holdout"][0])
    link_train_folder(pairs, training_names(split, None), folder)
    assert split["holdout"][0] not in {p.name for p in (folder / "images").iterdir()}


def test_folds_cover_every_image_once_and_each_run_trains_on_the_others(masks_data):
    pairs = read_pairs(masks_data)
    split = make_split(pairs, {"folds": 4, "stratified": True, "seed": 0})
    folds = split["folds"]
    assert sorted(n for f in folds for n in f) == pairs.names
    for k, fold in enumerate(folds):
        assert len(fold) == 3
        assert not set(fold) & set(training_names(split, k))
        assert len(training_names(split, k)) == 9
    assert json.loads(json.dumps(split)) == split


def test_every_nth_image_is_held_out_like_the_accuracy_benchmark(masks_data):
    split = make_split(read_pairs(masks_data), {"holdout_every": 5})
    assert split["holdout"] == ["img00.png", "img05.png", "img10.png"]


def test_shipped_plans_load(shared_data):
    from pathlib import Path

    folder = Path(__file__).resolve().parents[2] / "experiments"
    plans = sorted(folder.glob("*.yaml"))
    assert len(plans) >= 4
    for path in plans:
        plan = load_plan(path)
        assert plan.runs(), path
        assert plan.train.get("max_minutes"), f"{path}: a shipped plan needs a time budget"
        assert shlex.join(plan.runs()[0].train_args)
