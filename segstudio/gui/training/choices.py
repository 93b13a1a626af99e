"""The training form's lists that need torch: models and losses (with the plugins' ones) and the devices.

Asking the registries imports torch (about 2 s), so the window would wait for it before its first frame
(issue 10).  Instead the form starts from :func:`light_choices` (the built-in names of
``segstudio.core.catalog``, "Auto" and "CPU") and, after it has been painted for the first time, the process's
:class:`ChoicesLoader` runs :func:`full_choices` on a worker; its ``loaded`` signal hands the full lists to every
form.  When torch is already imported (a form built later, the tests) :func:`full_choices` costs milliseconds
and the form takes it at once (:func:`ready_choices`).
"""
from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from typing import Optional

from PySide6.QtCore import QCoreApplication, QObject, Signal

from segstudio.gui.workers import Worker

log = logging.getLogger(__name__)

#: the device list before torch has looked for a GPU
LIGHT_DEVICES = (("auto", "Auto (looking for a CUDA GPU...)"), ("cpu", "CPU"))


@dataclass(frozen=True)
class Choices:
    models: dict      # name -> description (tooltip)
    losses: dict      # name -> description
    devices: tuple    # (config value, text shown)
    complete: bool    # False: built-in names only, the devices not probed yet


def device_choices() -> list[tuple[str, str]]:
    """(config value, text shown): auto and CPU always; CUDA with the GPU's name when one is present."""
    import torch

    if not torch.cuda.is_available():
        return [("auto", "Auto (CPU: no CUDA GPU found)"), ("cpu", "CPU")]
    name = torch.cuda.get_device_name(0)
    return [("auto", f"Auto (CUDA: {name})"), ("cpu", "CPU"), ("cuda", f"CUDA ({name})")]


def light_choices() -> Choices:
    """What is known without torch: the built-in models and losses, auto and CPU."""
    from segstudio.core.catalog import BUILTIN_LOSSES, BUILTIN_MODELS

    return Choices(dict(BUILTIN_MODELS), dict(BUILTIN_LOSSES), LIGHT_DEVICES, complete=False)


def full_choices() -> Choices:
    """The registries' models and losses (plugins loaded) and the devices torch finds (imports torch)."""
    from segstudio.core.catalog import registry_descriptions
    from segstudio.core.losses import LOSSES
    from segstudio.core.models import MODELS

    return Choices(registry_descriptions(MODELS), registry_descriptions(LOSSES), tuple(device_choices()),
                   complete=True)


def ready_choices() -> Choices:
    """The full lists when torch is loaded already (cheap then), else the light ones."""
    return full_choices() if "torch" in sys.modules else light_choices()


class ChoicesLoader(QObject):
    """One per application: loads :func:`full_choices` on a worker once and emits ``loaded(Choices)``."""

    loaded = Signal(object)

    _instance: Optional["ChoicesLoader"] = None

    def __init__(self, parent=None):
        super().__init__(parent)
        self.worker: Optional[Worker] = None
        self.choices: Optional[Choices] = None
        app = QCoreApplication.instance()
        if app is not None:   # an import cannot be cancelled: quitting waits for it (no thread left running)
            app.aboutToQuit.connect(self.wait)

    @classmethod
    def instance(cls) -> "ChoicesLoader":
        if cls._instance is None:
            cls._instance = cls(QCoreApplication.instance())
            cls._instance.destroyed.connect(cls._forget)
        return cls._instance

    @classmethod
    def _forget(cls, *_args) -> None:
        cls._instance = None

    def request(self) -> None:
        """Start loading unless it is loaded or loading."""
        if self.choices is not None or self.worker is not None:
            return
        self.worker = Worker(lambda emit, cancel: full_choices(), name="training-choices", parent=self, nice=5)
        self.worker.result.connect(self._loaded)
        self.worker.failed.connect(self._failed)
        self.worker.done.connect(self._done)
        self.worker.start()

    def wait(self) -> None:
        if self.worker is not None:
            self.worker.wait()

    def _loaded(self, choices: Choices) -> None:
        self.choices = choices
        self.loaded.emit(choices)

    def _failed(self, exc: BaseException) -> None:
        # the form keeps the built-in names; training itself reports the same failure when it imports torch
        log.warning("training form: models, losses and devices not loaded: %s\n%s", exc, self.worker.traceback)

    def _done(self) -> None:
        self.worker = None
