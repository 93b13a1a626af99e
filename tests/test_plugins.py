"""The plugin mechanism: an entry point in the `segstudio.plugins` group adds to the registries."""
from __future__ import annotations

import sys
import types
from importlib import metadata
from pathlib import Path

import pytest
import torch

from segstudio.core import registry
from segstudio.core.errors import UnknownNameError

PLUGIN_DIR = Path(__file__).resolve().parents[1] / "plugins" / "segstudio-lovasz"


@pytest.fixture
def fake_entry_points(monkeypatch):
    """Make load_plugins() see the given entry points, and forget what it loaded afterwards."""
    from segstudio.core.losses import LOSSES

    monkeypatch.syspath_prepend(str(PLUGIN_DIR))
    before = dict(LOSSES.entries)

    def install(*eps):
        # only the registry sees the fake entry points (patching importlib.metadata itself would feed them to
        # any library that looks up its own entry points meanwhile, e.g. triton under torch)
        fake = types.SimpleNamespace(entry_points=lambda group=None: [e for e in eps if e.group == group])
        monkeypatch.setattr(registry, "metadata", fake)
        monkeypatch.setattr(registry, "_plugins_loaded", False)
        monkeypatch.setattr(registry, "plugin_errors", [])

    yield install
    LOSSES.entries.clear()
    LOSSES.entries.update(before)
    sys.modules.pop("segstudio_lovasz", None)


def _ep(name, value):
    return metadata.EntryPoint(name=name, value=value, group="segstudio.plugins")


def test_plugin_registers_a_loss(fake_entry_points):
    from segstudio.core.losses import build_loss

    fake_entry_points(_ep("lovasz", "segstudio_lovasz:register"))
    loss = build_loss("lovasz", 3)
    target = torch.tensor([[[0, 1], [2, -1]]])
    perfect = torch.nn.functional.one_hot(target.clamp(min=0), 3).permute(0, 3, 1, 2).float() * 20
    wrong = perfect.roll(1, dims=1)
    assert loss(perfect, target).item() < 1e-6
    assert loss(wrong, target).item() > 0.5
    # the ignored pixel does not matter
    changed = perfect.clone()
    changed[0, :, 1, 1] = torch.tensor([0.0, 50.0, -50.0])
    assert loss(changed, target).item() == pytest.approx(loss(perfect, target).item(), abs=1e-6)
    wrong.requires_grad_(True)
    loss(wrong, target).backward()
    assert wrong.grad.abs().sum() > 0


def test_broken_plugin_is_reported_not_fatal(fake_entry_points, capsys):
    from segstudio.commands import plugins as plugins_cmd
    from segstudio.core.losses import LOSSES

    fake_entry_points(_ep("broken", "segstudio_no_such_module:register"))
    assert "dice" in LOSSES.names()  # registries still work
    assert any("broken" in e and "ModuleNotFoundError" in e for e in registry.plugin_errors)
    assert plugins_cmd.run(None) == 1
    out = capsys.readouterr().out
    assert "failed to load" in out and "broken" in out


def test_unknown_name_lists_known_ones():
    from segstudio.core.losses import build_loss

    with pytest.raises(UnknownNameError) as err:
        build_loss("no-such-loss", 2)
    assert "dice" in str(err.value) and "no-such-loss" in str(err.value)


def test_plugins_command_lists_a_plugins_window_extension(fake_entry_points, capsys, monkeypatch):
    """A plugin's window extension (registered from its entry point, Qt imported only when installed) is listed."""
    from segstudio.commands import plugins as plugins_cmd
    from segstudio.core.session import WINDOW_EXTENSIONS

    mod = types.ModuleType("segstudio_fake_window_plugin")
    mod.register = lambda: WINDOW_EXTENSIONS.register("fake-dock")(lambda session, services: None)
    monkeypatch.setitem(sys.modules, mod.__name__, mod)
    monkeypatch.setattr(WINDOW_EXTENSIONS, "entries", {})
    fake_entry_points(_ep("fake", "segstudio_fake_window_plugin:register"))
    assert plugins_cmd.run(None) == 0
    assert "window extensions from plugins: fake-dock" in capsys.readouterr().out
