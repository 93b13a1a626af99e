"""Training dock against scripted engine event streams: a Failed event (message + advice in the dialog, Train
enabled again, the next run works), a broken JSON named in the failure, the "preparing" and progress lines,
the ETA started at the first batch, and curve redraws throttled by the refresh timer."""
from __future__ import annotations

import threading

import pytest

pytest.importorskip("pytestqt")

from segstudio.core.training import events as E  # noqa: E402
from segstudio.gui.training.controller import Eta  # noqa: E402

TIMEOUT = 60_000
OOM = "CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 7.79 GiB total capacity)"
ADVICE = "CUDA ran out of memory: lower the batch size (now 8) or the image size (now 64)"


def tiny_form(dock, epochs=1):
    dock.form.set_values(model="unet", epochs=epochs, batch_size=8, img_size=64, val_fraction=0.2,
                         device="cpu", max_minutes=0)


def use_engine(dock, fn):
    """Make the dock's controller run ``fn(config, cancel=...)`` instead of the core engine."""
    dock.controller.engine = fn


def started(config, **kw):
    return E.Started(config=config, n_train=19, n_val=5, device=kw.get("device", "cpu"), run_dir=config.out)


@pytest.fixture
def dock(train_dock):
    return train_dock


def test_failed_event_shows_message_and_advice_and_train_is_enabled_again(qtbot, dock):
    def failing(config, cancel=None):
        yield started(config, device="cuda")
        yield E.Log("decoding and caching 24 images at 64 px")
        yield E.BatchEnd(epoch=1, batch=1, n_batches=2, loss=0.9, images_per_s=10.0)
        yield E.Failed(OOM, ADVICE, run_dir=config.out)

    use_engine(dock, failing)
    tiny_form(dock)
    with qtbot.waitSignal(dock.controller.failed, timeout=TIMEOUT) as blocker:
        assert dock.start_training()
    assert OOM in blocker.args[0] and ADVICE in blocker.args[0]
    qtbot.waitUntil(lambda: not dock.running, timeout=TIMEOUT)
    box = dock.error_box
    assert box is not None and box.isVisible() and box.windowTitle() == "Training failed"
    assert OOM in box.text() and ADVICE in box.text()
    assert dock.status.text().startswith("Failed: CUDA out of memory")
    assert dock.train_button.isEnabled() and not dock.stop_button.isEnabled() and dock.form.isEnabled()
    assert "error: " + OOM in dock.log.toPlainText()

    # the app keeps running: the next run starts and finishes normally
    def ok(config, cancel=None):
        yield started(config)
        yield E.BatchEnd(epoch=1, batch=1, n_batches=1, loss=0.5, images_per_s=10.0)
        yield E.Finished(best_miou=0.25, run_dir=config.out, reason="completed", epochs_done=1, best_epoch=1)

    use_engine(dock, ok)
    with qtbot.waitSignal(dock.controller.finished, timeout=TIMEOUT):
        assert dock.start_training()
    qtbot.waitUntil(lambda: not dock.running, timeout=TIMEOUT)
    assert dock.status.text().startswith("Finished (completed)")


def test_broken_json_in_the_project_is_named_in_the_failure(qtbot, dock, sample_project):
    bad = sample_project / "img_003.json"
    bad.write_text("{not json", encoding="utf-8")
    tiny_form(dock)
    with qtbot.waitSignal(dock.controller.failed, timeout=TIMEOUT) as blocker:
        assert dock.start_training(model_kwargs={"base": 4, "depth": 2})
    assert str(bad) in blocker.args[0]
    qtbot.waitUntil(lambda: not dock.running, timeout=TIMEOUT)
    assert dock.error_box is not None and dock.error_box.isVisible()
    assert str(bad) in dock.error_box.text() and "JSON" in dock.error_box.text()
    assert dock.train_button.isEnabled()


class GatedEngine:
    """Started, a caching Log, then (once ``go`` is set) three batches; ends once ``release`` is set."""

    def __init__(self):
        self.go = threading.Event()
        self.release = threading.Event()

    def __call__(self, config, cancel=None):
        yield started(config)
        yield E.Log("decoding and caching 24 images at 64 px")
        self.go.wait(TIMEOUT / 1000)
        for b in (1, 2, 3):
            yield E.BatchEnd(epoch=1, batch=b, n_batches=3, loss=0.5 / b, images_per_s=12.5)
        self.release.wait(TIMEOUT / 1000)
        yield E.Finished(best_miou=0.0, run_dir=config.out, reason="cancelled" if cancel() else "completed")

    def open(self):
        self.go.set()
        self.release.set()


@pytest.fixture
def gated(dock):
    engine = GatedEngine()
    use_engine(dock, engine)
    yield engine
    engine.open()   # never leave the worker thread waiting (a failed assertion)


def test_status_says_preparing_before_the_first_batch_then_batch_and_eta(qtbot, dock, gated):
    tiny_form(dock)
    with qtbot.waitSignal(dock.controller.logged, timeout=TIMEOUT):
        assert dock.start_training()
    qtbot.waitUntil(lambda: "caching" in dock.status.text(), timeout=TIMEOUT)
    assert dock.status.text().startswith("Preparing: decoding and caching 24 images")
    assert "ETA" not in dock.status.text()
    batches = []
    dock.controller.batchEnded.connect(batches.append)
    gated.go.set()
    qtbot.waitUntil(lambda: len(batches) == 3, timeout=TIMEOUT)
    qtbot.waitUntil(lambda: "batch 3/3" in dock.status.text(), timeout=TIMEOUT)   # the 100 ms refresh
    text = dock.status.text()
    assert "Epoch 1/1" in text and "batch 3/3" in text and "12.5 img/s" in text
    assert "ETA 00:00" in text        # the last batch of the last epoch: nothing left
    dock.stop_training()
    with qtbot.waitSignal(dock.controller.finished, timeout=TIMEOUT) as blocker:
        gated.release.set()
    assert blocker.args[0].reason == "cancelled"


def test_eta_clock_starts_at_the_first_batch_not_at_started():
    t = [0.0]
    eta = Eta(epochs=2, clock=lambda: t[0])
    assert eta.seconds_left() is None
    t[0] = 100.0                       # 100 s decoding and caching images before the first batch
    eta.update(1, 1, 10)
    assert eta.seconds_left() is None  # one batch: no duration measured yet
    for b, now in ((2, 101.0), (3, 102.0)):
        t[0] = now
        eta.update(1, b, 10)
    assert eta.seconds_left() == pytest.approx(17.0)   # 1 s per batch, 7 + 10 batches left


def test_eta_shown_in_the_dock_ignores_the_time_before_the_first_batch(dock):
    from types import SimpleNamespace

    t = [0.0]
    c = dock.controller
    c.clock = lambda: t[0]
    c.config = SimpleNamespace(epochs=2)
    c._on_event(E.Started(config=c.config, n_train=80, n_val=20, device="cpu"))
    for b, now in ((1, 100.0), (2, 101.0), (3, 102.0)):
        t[0] = now
        c._on_event(E.BatchEnd(epoch=1, batch=b, n_batches=10, loss=0.5, images_per_s=8.0))
    dock._refresh()
    assert "ETA 00:17" in dock.status.text()


def test_curve_redraws_are_throttled_by_the_refresh_timer(qtbot, dock):
    from types import SimpleNamespace

    c = dock.controller
    c.config = SimpleNamespace(epochs=2)
    c.eta = Eta(2)
    draws = []
    set_data = dock.curves.batch_curve.setData
    dock.curves.batch_curve.setData = lambda *a, **k: (draws.append(1), set_data(*a, **k))
    dock.timer.start()
    n = 50
    for b in range(1, n + 1):             # a burst of batch events, faster than the 100 ms refresh
        c._on_event(E.BatchEnd(epoch=1, batch=b, n_batches=n, loss=1.0 / b, images_per_s=100.0))
    assert draws == [] and len(dock.curves.batch_x) == n     # events only append data
    qtbot.waitUntil(lambda: len(draws) >= 1, timeout=5_000)  # the timer redraws once for the whole burst
    assert len(draws) == 1 < n
    assert list(dock.curves.batch_curve.getData()[1]) == dock.curves.batch_y
    assert f"batch {n}/{n}" in dock.status.text()
    dock.timer.stop()
