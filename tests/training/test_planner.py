"""The automatic configuration: fingerprint, planning for a time budget, overrides, loss choice, the CLI."""
from __future__ import annotations

import json
import math

import pytest

from segstudio.core.training import TrainConfig
from segstudio.core.training.fingerprint import ClassStats, Fingerprint, fingerprint, sample_indices
from segstudio.core.training.planner import FILL, TARGET_STEPS, plan_run, size_range


def make_fp(*, n=200, hw=(576, 768), widths=(0.25,), freqs=(0.7, 0.3), image_freqs=None, asym=0.2, channels=3,
            aspect=(1.33, 1.33, 1.33)) -> Fingerprint:
    names = ["_background_"] + [f"c{i}" for i in range(1, len(freqs))]
    image_freqs = image_freqs or [1.0] * len(freqs)
    classes = [ClassStats(names[0], freqs[0], 1.0, freqs[0], math.nan, math.nan)]
    for i in range(1, len(freqs)):
        w = widths[min(i - 1, len(widths) - 1)]
        classes.append(ClassStats(names[i], freqs[i], image_freqs[i], freqs[i], w, w * 0.7))
    return Fingerprint(n_images=n, n_sampled=min(n, 40), class_names=names, channels=channels, median_hw=hw,
                       min_side=min(hw), max_side=max(hw), aspect_p10=aspect[0], aspect_median=aspect[1],
                       aspect_p90=aspect[2], intensity_mean=[0.5] * channels, intensity_std=[0.2] * channels,
                       vertical_asymmetry=asym, classes=classes)


def linear_cost(seconds_per_unit_image: float):
    """A fake measurement: a step costs cost_units x batch x this many seconds."""
    calls = []

    def measure(c):
        calls.append(c.label)
        return seconds_per_unit_image * c.cost_units * c.batch_size

    measure.calls = calls
    return measure


def test_sample_indices_even_and_bounded():
    assert sample_indices(5, 40) == [0, 1, 2, 3, 4]
    idx = sample_indices(1000, 10)
    assert len(idx) == 10 and idx[0] == 0 and idx[-1] == 999


def test_fingerprint_of_the_sample_project(tiny_project):
    fp = fingerprint(tiny_project)
    assert fp.n_images == 8 and fp.class_names == ["_background_", "lesion", "cyst"]
    assert fp.channels in (1, 3) and len(fp.intensity_mean) == fp.channels
    assert sum(c.pixel_frequency for c in fp.classes) == pytest.approx(1.0)
    for c in fp.foreground:
        assert 0 < c.rel_width_median < 1 and 0 < c.rel_area_median < 1
    assert json.dumps(fp.to_dict(), allow_nan=True)


def test_fingerprint_is_cancellable(tiny_project):
    assert fingerprint(tiny_project, cancel=lambda: True) is None


def test_fingerprint_of_shared_data(shared_data):
    ph2 = fingerprint(shared_data / "ph2", sample=12)
    assert ph2.channels == 3 and ph2.n_images == 160
    assert ph2.aspect_median == pytest.approx(4 / 3, abs=0.02)
    lesion = ph2.classes[1]
    assert lesion.rel_width_median > 0.1 and lesion.image_frequency == 1.0
    drive = fingerprint(shared_data / "drive", sample=6)
    assert drive.classes[1].rel_width_p10 < 0.02          # vessels are thin
    floor, want, cap, why = size_range(drive)
    assert floor >= 320 and "thin" in why
    assert "objects are large" in size_range(ph2)[3]      # lesions ~1/4 of the image wide
    busi = fingerprint(shared_data / "busi", sample=12)
    assert "thin" not in size_range(busi)[3]
    assert busi.channels == 1 and busi.vertical_asymmetry > 0.8   # ultrasound: depth runs top to bottom


def test_plan_fills_the_budget_with_the_measured_step_time(tiny_project, tmp_path):
    fp = make_fp(n=200)
    cfg = TrainConfig(data=str(tiny_project), out=str(tmp_path / "r"), max_minutes=10, device="cpu")
    plan = plan_run(cfg, {"max_minutes"}, fp=fp, measure=linear_cost(0.05))
    c = plan.config
    n_train = 200 - 20
    steps = n_train // c.batch_size
    # the planned epochs fill the budget (less what the plan spends before and after training)
    assert plan.predicted_epochs * plan.epoch_seconds <= 10 * 60 * FILL
    assert (plan.predicted_epochs + 1) * plan.epoch_seconds > 10 * 60 * FILL * 0.9
    assert c.epochs >= plan.predicted_epochs and c.patience == 0
    assert c.max_minutes <= 10
    assert plan.choices["epochs"]["source"] == "auto"
    measured = {m["candidate"] for m in plan.measurements}
    assert len(measured) >= 1 and plan.measurements[0]["step_s"] > 0
    # the chosen candidate fits the step target, or it is the cheapest one
    if c.model_kwargs["base"] != 8 or c.img_size != 128:
        assert plan.predicted_epochs * steps >= TARGET_STEPS
    assert plan.summary.startswith(f"Auto: {c.img_size} px, U-Net base {c.model_kwargs['base']}, batch "
                                   f"{c.batch_size}, ~{plan.predicted_epochs} epochs in 10 min")


def test_a_faster_device_or_longer_budget_buys_a_more_capable_model(tiny_project, tmp_path):
    fp = make_fp(n=200)
    cfg = TrainConfig(data=str(tiny_project), out=str(tmp_path / "r"), max_minutes=10, device="cpu")
    slow = plan_run(cfg, {"max_minutes"}, fp=fp, measure=linear_cost(0.2)).config
    fast = plan_run(cfg, {"max_minutes"}, fp=fp, measure=linear_cost(0.002)).config
    cost = lambda c: c.img_size ** 2 * c.model_kwargs["base"]  # noqa: E731
    assert (slow.img_size, slow.model_kwargs["base"]) == (128, 8)   # nothing fits: the cheapest
    assert cost(fast) > cost(slow)


def test_explicit_settings_win_and_the_plan_says_so(tiny_project, tmp_path):
    fp = make_fp(n=200)
    cfg = TrainConfig(data=str(tiny_project), out=str(tmp_path / "r"), max_minutes=5, device="cpu", img_size=96,
                      epochs=7, loss="focal", model_kwargs={"base": 4, "depth": 2})
    measure = linear_cost(0.01)
    plan = plan_run(cfg, {"img_size", "epochs", "loss", "model_kwargs", "max_minutes"}, fp=fp, measure=measure)
    c = plan.config
    assert (c.img_size, c.epochs, c.loss, c.model_kwargs) == (96, 7, "focal", {"base": 4, "depth": 2})
    for key in ("img_size", "epochs", "loss", "model_kwargs"):
        assert plan.choices[key]["source"] == "user"
        assert plan.choices[key]["reason"].startswith("set by you (auto would choose")
    assert all("96 px" in label for label in measure.calls)   # it measured the user's size
    assert plan.choices["batch_size"]["source"] == "auto"


def test_your_epochs_without_a_budget_set_the_summary_length(tiny_project, tmp_path):
    """Epochs given, no time budget: the run lasts those epochs, and the summary says so (with their
    estimated minutes) instead of the default budget the sizes were planned for."""
    fp = make_fp(n=200)
    cfg = TrainConfig(data=str(tiny_project), out=str(tmp_path / "r"), device="cpu", epochs=7)
    plan = plan_run(cfg, {"epochs"}, fp=fp, measure=linear_cost(0.01))
    assert plan.config.epochs == 7 and not plan.config.max_minutes
    minutes = 7 * plan.epoch_seconds / 60
    assert ", 7 epochs, " in plan.summary and " in 15 min" not in plan.summary
    assert (f"~{minutes:.0f} min on cpu" if minutes >= 1 else "under a minute on cpu") in plan.summary
    assert any("no time budget given" in note for note in plan.notes)


def test_a_rare_class_is_named_but_the_loss_stays_unweighted_dice_ce(tiny_project, tmp_path):
    cfg = TrainConfig(data=str(tiny_project), out=str(tmp_path / "r"), max_minutes=5, device="cpu")
    common = plan_run(cfg, set(), fp=make_fp(freqs=(0.6, 0.4)), measure=linear_cost(0.01)).config
    assert common.loss == "dice_ce" and common.class_weights is None
    rare = plan_run(cfg, set(), fp=make_fp(freqs=(0.9, 0.08, 0.02), image_freqs=[1, 0.9, 0.2]),
                    measure=linear_cost(0.01))
    # class-weighted CE scored lower on BUSI (BENCHMARKS.md): Dice balances the classes, as in nnU-Net
    assert rare.config.loss == "dice_ce" and rare.config.class_weights is None
    reason = rare.choices["loss"]["reason"]
    assert "c2" in reason and "rare" in reason and "unweighted" in reason
    mine = cfg.replace(class_weights=[0.5, 1.0, 2.0])          # the user's weights stay the user's
    given = plan_run(mine, {"class_weights"}, fp=make_fp(freqs=(0.9, 0.08, 0.02), image_freqs=[1, 0.9, 0.2]),
                     measure=linear_cost(0.01))
    assert given.config.class_weights == [0.5, 1.0, 2.0] and given.choices["class_weights"]["source"] == "user"


def test_one_foreground_class_gets_the_strong_preset_several_the_light_one(tiny_project, tmp_path):
    cfg = TrainConfig(data=str(tiny_project), out=str(tmp_path / "r"), max_minutes=5, device="cpu")
    one = plan_run(cfg, set(), fp=make_fp(freqs=(0.7, 0.3), asym=1.5), measure=linear_cost(0.01))
    several = plan_run(cfg, set(), fp=make_fp(freqs=(0.8, 0.1, 0.1)), measure=linear_cost(0.01))
    assert one.config.augment == "strong" and "one foreground class" in one.choices["augment"]["reason"]
    # strong, but an oriented image still gets no up-down flip and only small rotations
    assert one.config.augment_overrides == {"vflip_p": 0.0, "rotate_deg": 15.0}
    assert several.config.augment == "light" and "several foreground classes" in several.choices["augment"]["reason"]
    mine = plan_run(cfg.replace(augment="none"), {"augment"}, fp=make_fp(), measure=linear_cost(0.01))
    assert mine.config.augment == "none" and mine.choices["augment"]["source"] == "user"


def test_orientation_decides_vertical_flips_and_thin_structures_the_size(tiny_project, tmp_path):
    cfg = TrainConfig(data=str(tiny_project), out=str(tmp_path / "r"), max_minutes=5, device="cpu")
    up = plan_run(cfg, set(), fp=make_fp(asym=1.5), measure=linear_cost(0.01)).config
    free = plan_run(cfg, set(), fp=make_fp(asym=0.1), measure=linear_cost(0.01)).config
    assert up.augment_overrides["vflip_p"] == 0 and free.augment_overrides["vflip_p"] > 0
    thin = plan_run(cfg, set(), fp=make_fp(widths=(0.005,), hw=(584, 565), aspect=(0.97, 0.97, 0.97)),
                    measure=linear_cost(0.2)).config
    assert thin.img_size >= 480 and thin.resize_mode == "letterbox"
    wide = plan_run(cfg, set(), fp=make_fp(), measure=linear_cost(0.2)).config
    assert wide.resize_mode == "resize"        # every image 4:3: no padding wasted


def test_plan_json_is_strict_json(tiny_project, tmp_path):
    cfg = TrainConfig(data=str(tiny_project), out=str(tmp_path / "r"), max_minutes=5, device="cpu")
    plan = plan_run(cfg, set(), measure=linear_cost(0.01))
    path = plan.write(tmp_path / "r")
    data = json.loads(path.read_text(), parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}"))
    assert data["summary"] == plan.summary and data["config"]["img_size"] == plan.config.img_size
    assert data["fingerprint"]["n_images"] == 8 and data["choices"]["loss"]["source"] == "auto"


def test_cli_config_auto_writes_plan_json_and_records_postprocessing(tiny_project, tmp_path, capsys):
    import torch

    from segstudio.cli import main
    from segstudio.core.checkpoint import load_checkpoint

    run = tmp_path / "run"
    rc = main(["train", "--data", str(tiny_project), "--out", str(run), "--max-minutes", "0.5", "--img-size", "64",
               "--set", "model_kwargs={base: 4, depth: 2}", "--epochs", "2", "--threads", "1", "-q"])
    assert rc == 0
    out = capsys.readouterr().out
    plan = json.loads((run / "plan.json").read_text())
    assert out.splitlines()[0] == plan["summary"] and plan["summary"].startswith("Auto: 64 px")
    assert plan["choices"]["img_size"]["source"] == "user" and plan["choices"]["loss"]["source"] == "auto"
    assert plan["measurements"] and plan["postprocess"]["n_val"] >= 1
    cfg = json.loads((run / "config.json").read_text())
    assert cfg["img_size"] == 64 and cfg["patience"] == 0 and cfg["max_minutes"] <= 0.5
    ckpt = load_checkpoint(run / "best.pt")
    assert set(ckpt["postprocess"]) >= {"tta", "keep_largest", "merged", "val_miou"}
    assert "post-processing chosen on" in out
    assert torch.get_num_threads() >= 1


def test_cli_config_defaults_plans_nothing(tiny_project, tmp_path):
    from segstudio.cli import main

    run = tmp_path / "run"
    rc = main(["train", "--data", str(tiny_project), "--out", str(run), "--config", "defaults", "--img-size", "32",
               "--set", "model_kwargs={base: 4, depth: 2}", "--epochs", "1", "--threads", "1", "-q"])
    assert rc == 0 and not (run / "plan.json").exists()
    assert json.loads((run / "config.json").read_text())["patience"] == TrainConfig().patience


def test_local_imagenet_weights_give_a_pretrained_encoder_and_absent_ones_a_note(tiny_project, tmp_path,
                                                                                monkeypatch):
    import torch

    from segstudio.core.training.plan_measure import find_pretrained

    hub = tmp_path / "hub"
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(hub))
    kwargs, note = find_pretrained()
    assert kwargs is None and "training from scratch" in note and "never downloads" in note
    cfg = TrainConfig(data=str(tiny_project), out=str(tmp_path / "r"), max_minutes=10, device="cpu")
    plan = plan_run(cfg, set(), fp=make_fp(), measure=linear_cost(0.001))
    assert plan.config.model == "unet" and sum("from scratch" in n for n in plan.notes) == 1   # said once
    (hub / "checkpoints").mkdir(parents=True)
    (hub / "checkpoints" / "resnet18-f37072fd.pth").write_bytes(b"weights")
    kwargs, note = find_pretrained()
    assert kwargs["encoder"] == "resnet18" and kwargs["encoder_weights"].endswith("resnet18-f37072fd.pth")
    plan = plan_run(cfg, set(), fp=make_fp(), measure=linear_cost(0.001))
    assert plan.config.model == "resnet_unet" and plan.config.model_kwargs["encoder"] == "resnet18"
    assert plan.config.lr == 1e-3 and "resnet18" in plan.choices["model"]["reason"]
    own = tmp_path / "my_resnet34.pth"
    own.write_bytes(b"weights")
    kwargs, note = find_pretrained(weights_file=str(own))
    assert kwargs == {"encoder": "resnet34", "encoder_weights": str(own)}
    # a budget too small for the encoder: the cheapest U-Net, weights or not
    slow = plan_run(cfg, set(), fp=make_fp(), measure=linear_cost(0.5))
    assert slow.config.model == "unet"
