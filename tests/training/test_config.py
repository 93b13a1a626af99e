"""TrainConfig: JSON/YAML round trips, strict keys, type and range checks."""
from __future__ import annotations

import json

import pytest

from segstudio.core.errors import ConfigError
from segstudio.core.training import TrainConfig


def _custom():
    return TrainConfig(data="d", out="o", labels="l.txt", model="attention_unet", model_kwargs={"base": 8},
                       epochs=7, batch_size=3, img_size=96, lr=5e-4, scheduler="plateau", freeze_epochs=2,
                       augment_overrides={"rotate_p": 0.5}, max_minutes=1.5, class_weights=[1.0, 2.0],
                       k_folds=5, fold=2, threads=2, deterministic=False)


@pytest.mark.parametrize("suffix", [".json", ".yaml", ".yml"])
def test_round_trip_through_files(tmp_path, suffix):
    cfg = _custom()
    path = tmp_path / f"cfg{suffix}"
    if suffix == ".json":
        cfg.to_json(path)
    else:
        cfg.to_yaml(path)
    back = TrainConfig.from_file(path)
    assert back == cfg
    assert back is not cfg


def test_unknown_key_is_named(tmp_path):
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"data": "d", "out": "o", "epochz": 3}))
    with pytest.raises(ConfigError) as ei:
        TrainConfig.from_file(path)
    assert "epochz" in str(ei.value) and str(path) in str(ei.value)


def test_unknown_key_in_yaml(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("data: d\nlearning_rate: 0.1\n")
    with pytest.raises(ConfigError, match="learning_rate"):
        TrainConfig.from_file(path)


@pytest.mark.parametrize("key,value,words", [
    ("epochs", "ten", "epochs"), ("epochs", 0, "epochs"), ("lr", -1.0, "lr"), ("optimizer", "rmsprop", "optimizer"),
    ("img_size", 100, "multiple of 32"), ("val_fraction", 1.0, "val_fraction"), ("batch_size", True, "batch_size"),
    ("device", "tpu", "device"),
])
def test_bad_values_are_refused(key, value, words):
    with pytest.raises(ConfigError, match=words):
        TrainConfig.from_dict({"data": "d", "out": "o", key: value})


def test_int_accepted_for_float_fields():
    cfg = TrainConfig.from_dict({"lr": 1, "max_minutes": 2})
    assert isinstance(cfg.lr, float) and cfg.lr == 1.0 and cfg.max_minutes == 2.0


def test_not_a_mapping_and_broken_file(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="mapping"):
        TrainConfig.from_file(p)
    q = tmp_path / "c.json"
    q.write_text("{broken")
    with pytest.raises(ConfigError, match="JSON"):
        TrainConfig.from_file(q)
    with pytest.raises(ConfigError, match="cannot read"):
        TrainConfig.from_file(tmp_path / "missing.yaml")
