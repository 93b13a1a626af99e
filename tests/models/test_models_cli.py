"""`segstudio models`: listing with parameter counts, one configuration, smp names, bad options."""
from __future__ import annotations

import json

from segstudio.cli import main


def test_list(capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    rows = {line.split()[0]: line.split()[1] for line in out.splitlines()[1:] if line and not line.startswith("(")}
    assert {"unet", "unetpp", "attention_unet", "cbam_unet", "vgg16_unet", "resnet_unet"} <= set(rows)
    assert rows["unet"] == "1,811,794"
    assert "smp:<arch>:<encoder>" in out


def test_one_config_and_errors(capsys):
    assert main(["models", "unet", "-o", "base=32", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc == {"name": "unet", "options": {"base": 32}, "parameters": 7_240_354}
    assert main(["models", "unet", "-o", "bsae=3"]) == 2
    assert "bsae" in capsys.readouterr().err
    assert main(["models", "unet", "-o", "base"]) == 2
    assert main(["models", "nope"]) == 2
    assert "unknown model 'nope'" in capsys.readouterr().err


def test_smp_listing(capsys):
    assert main(["models", "--smp", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert "Unet" in doc["architectures"] and "resnet18" in doc["encoders"]


def test_broken_plugin_model_does_not_hide_the_others(capsys, monkeypatch):
    from segstudio.core.models import MODELS

    def broken(in_channels=3, num_classes=2):
        raise RuntimeError("plugin bug")

    monkeypatch.setattr(MODELS, "entries", {"unet": MODELS.get("unet"), "zz_broken": broken})
    monkeypatch.setattr("segstudio.commands.models.describe", lambda name: "")
    from segstudio.commands.models import model_rows

    rows = {r["name"]: r for r in model_rows()}
    assert rows["zz_broken"]["parameters"] is None and "plugin bug" in rows["zz_broken"]["description"]
    assert rows["unet"]["parameters"] == 1_811_794
