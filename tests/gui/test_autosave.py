"""Autosave: edits reach the JSON by a deadline (on a fake clock), flushed on switch/close, errors keep edits and
are retried, kill -9 leaves a valid JSON with every saved edit."""
from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from segstudio.core.annotation.document import Shape
from segstudio.gui.main_window import MainWindow

ROOT = Path(__file__).resolve().parents[2]
DRIVER = Path(__file__).with_name("test_autosave_driver.py")


@pytest.fixture
def window(make_window, sample_project):
    w = make_window(active=False)
    w.open_path(sample_project)
    return w


def _shape(desc, x=20.0):
    return Shape(label="cyst", points=[[x, 20.0], [x + 25, 22.0], [x + 10, 50.0]], description=desc)


def _on_disk(path):
    return [s.get("description") for s in json.loads(Path(path).read_text())["shapes"]]


def test_edit_is_written_after_the_delay_without_image_data(window, qtbot, sample_project):
    assert 100 <= window.autosaver.delay_ms <= 1000
    with qtbot.waitSignal(window.autosaver.saved, timeout=5000) as blocker:
        window.document.add_shapes([_shape("new")])
    assert blocker.args[0] == sample_project / "img_000.json" or blocker.args[0].name == "img_000.json"
    data = json.loads((sample_project / "img_000.json").read_text())
    assert data["shapes"][-1]["description"] == "new" and data["imageData"] is None
    assert not window.autosaver.dirty and window.save_label.text() == "Saved img_000.json"


class FakeClock:
    """The autosaver's clock in tests: time moves only when the test says so."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_continuous_editing_is_still_saved(window, qtbot, sample_project):
    """The deadline is set by the first unsaved edit and never moved by later ones: a user who never pauses is
    saved every delay_ms anyway (on a fake clock: no real time is measured)."""
    saver, clock = window.autosaver, FakeClock()
    saver.clock = clock
    delay = saver.delay_ms / 1000.0
    start = clock.now
    n = 0
    while clock.now - start < delay - 0.02:            # an edit every 20 ms, right up to the deadline
        n += 1
        window.document.add_shapes([_shape(f"c{n}", x=5 + n % 150)])
        assert saver.deadline == pytest.approx(start + delay)   # not restarted by the edit
        assert not saver.poll()                                 # not due yet: nothing written
        clock.now += 0.02
    assert "c1" not in _on_disk(sample_project / "img_000.json")
    clock.now = start + delay
    with qtbot.waitSignal(saver.saved, timeout=5000):
        assert saver.poll()                                     # due: the save starts, editing or not
    assert _on_disk(sample_project / "img_000.json")[-n:] == [f"c{i}" for i in range(1, n + 1)]
    window.document.add_shapes([_shape("later")])               # the next edit sets the next deadline
    assert saver.deadline == pytest.approx(clock.now + delay)


def test_a_failed_save_is_retried_on_the_clock(window, qtbot, sample_project, monkeypatch):
    saver, clock = window.autosaver, FakeClock()
    saver.clock = clock
    from segstudio.gui import autosave

    real = autosave.write_json_bytes
    monkeypatch.setattr(autosave, "write_json_bytes", lambda *a, **k: (_ for _ in ()).throw(OSError(28, "disk full")))
    window.document.add_shapes([_shape("retry-me")])
    clock.now += saver.delay_ms / 1000.0
    with qtbot.waitSignal(saver.saveFailed, timeout=5000):
        assert saver.poll()
    assert saver.dirty and saver.deadline == pytest.approx(clock.now + autosave.RETRY_MS / 1000.0)
    monkeypatch.setattr(autosave, "write_json_bytes", real)
    clock.now += 1.0
    assert not saver.poll()                                     # the retry waits its 3 s
    clock.now += autosave.RETRY_MS / 1000.0
    with qtbot.waitSignal(saver.saved, timeout=5000):
        assert saver.poll()
    assert "retry-me" in _on_disk(sample_project / "img_000.json") and saver.deadline is None


def test_switching_image_and_closing_flush_immediately(window, qtbot, sample_project):
    window.document.add_shapes([_shape("before-switch")])
    window.next_image()  # no waiting: the switch itself writes
    assert "before-switch" in _on_disk(sample_project / "img_000.json")
    window.document.add_shapes([_shape("before-close")])
    window.close()
    assert "before-close" in _on_disk(sample_project / "img_001.json")


def test_undo_is_saved_too(window, qtbot, sample_project):
    n = len(window.document.shapes())
    window.document.add_shapes([_shape("undone")])
    window.autosaver.flush()
    window.document.undo_stack.undo()
    window.autosaver.flush()
    assert len(_on_disk(sample_project / "img_000.json")) == n


def test_embed_image_data_toggle(window, sample_project):
    window.actions_by_name["embed"].trigger()
    assert window.settings.embed_image_data and window.autosaver.embed_image_data
    window.document.add_shapes([_shape("embedded")])
    window.autosaver.flush()
    data = json.loads((sample_project / "img_000.json").read_text())
    from segstudio.core.annotation.io import load_image

    assert load_image(base64.b64decode(data["imageData"])).shape == (256, 256, 3)


def test_image_only_in_json_keeps_its_image_data(qtbot, messages, tmp_path, sample_project_ro):
    folder = tmp_path / "embedded"
    folder.mkdir()
    data = json.loads((sample_project_ro / "img_000.json").read_text())
    data["imageData"] = base64.b64encode((sample_project_ro / "img_000.png").read_bytes()).decode()
    data["imagePath"] = "elsewhere/img_000.png"
    (folder / "only.json").write_text(json.dumps(data))
    w = MainWindow(extensions=False)
    qtbot.addWidget(w)
    assert w.open_path(folder)
    assert w.document.image is not None and w.document.image.shape[:2] == (256, 256)
    w.document.add_shapes([_shape("x")])
    assert w.autosaver.flush()
    assert json.loads((folder / "only.json").read_text())["imageData"]  # never dropped: it is the only copy


def test_save_error_keeps_the_edit_and_is_shown(window, qtbot, sample_project, messages):
    json_path = sample_project / "img_000.json"
    json_path.unlink()
    json_path.mkdir()  # the JSON cannot be replaced by a file now
    with qtbot.waitSignal(window.autosaver.saveFailed, timeout=5000) as blocker:
        window.document.add_shapes([_shape("precious")])
    assert "img_000.json" in blocker.args[0]
    assert "NOT SAVED" in window.save_label.text() and window.autosaver.dirty
    assert window.document.shapes()[-1].description == "precious"  # kept in memory
    # switching away would lose it: the user is asked, answers No, and stays on the image
    assert not window.next_image()
    assert window.current_entry.stem == "img_000" and "could not be saved" in messages[-1]
    json_path.rmdir()
    assert window.save_now()
    assert "precious" in _on_disk(json_path)
    assert "Saved" in window.save_label.text()


def test_timer_save_writes_on_a_background_thread_in_order(window, qtbot, sample_project, monkeypatch):
    """The autosave timer only encodes on the GUI thread: while the write is held up on the writer thread the
    GUI goes on (more edits), the JSON on disk is the previous one until the write lands, and the writes land
    in order; flush() waits for them."""
    import threading

    from segstudio.gui import autosave

    gate, entered, threads = threading.Event(), threading.Event(), []
    real_write = autosave.write_json_bytes

    def held_write(path, data):
        threads.append(threading.current_thread())
        entered.set()
        assert gate.wait(10)
        real_write(path, data)

    monkeypatch.setattr(autosave, "write_json_bytes", held_write)
    json_path = sample_project / "img_000.json"
    before = json_path.read_bytes()
    window.document.add_shapes([_shape("first")])
    qtbot.waitUntil(entered.is_set, timeout=5000)          # the timer fired and the write started ...
    assert window.autosaver.dirty and json_path.read_bytes() == before   # ... but is held: not on disk yet
    window.document.add_shapes([_shape("second")])         # the GUI thread is free: editing goes on
    with qtbot.waitSignal(window.autosaver.saved, timeout=5000):
        gate.set()
    assert threads and all(t is not threading.main_thread() for t in threads)
    assert window.autosaver.flush()                        # waits for the queued second write
    assert _on_disk(json_path)[-2:] == ["first", "second"] and not window.autosaver.dirty
    assert not window.document.is_modified


def test_failed_background_write_is_retried_and_the_delay_kept(window, qtbot, sample_project):
    json_path = sample_project / "img_000.json"
    json_path.unlink()
    json_path.mkdir()
    with qtbot.waitSignal(window.autosaver.saveFailed, timeout=5000):
        window.document.add_shapes([_shape("kept")])
    assert window.autosaver.dirty and window.autosaver.last_error
    json_path.rmdir()
    with qtbot.waitSignal(window.autosaver.saved, timeout=10000):    # the retry (3 s) writes it
        pass
    assert "kept" in _on_disk(json_path) and not window.autosaver.dirty
    assert window.autosaver.delay_ms == window.settings.autosave_delay_ms   # back to the normal delay
    with qtbot.waitSignal(window.autosaver.saved, timeout=window.autosaver.delay_ms + 1000):
        window.document.add_shapes([_shape("next")])


def test_json_cache_is_filled_while_idle_after_opening(window, qtbot):
    """After an image opens, its shapes are encoded in idle slices, so the first autosave encodes only
    the edited shape."""
    doc = window.document
    n = len(doc.shapes())
    assert n > 0
    qtbot.waitUntil(lambda: doc.json_cache.encoded >= n, timeout=5000)
    before = doc.json_cache.encoded
    doc.move_shapes([0], 2, 2)
    assert window.autosaver.flush()
    assert doc.json_cache.encoded == before + 1


def test_autosave_delay_setting_is_clamped_to_keep_the_two_second_promise(qtbot, messages):
    from PySide6.QtCore import QSettings

    from segstudio.gui.settings import Settings

    for stored, expected in ((5000, 1500), (1500, 1500), (1200, 1200), (10, 100), ("junk", 700)):
        QSettings().setValue("annotate/autosave_delay_ms", stored)
        assert Settings().autosave_delay_ms == expected, stored
    QSettings().setValue("annotate/autosave_delay_ms", 60000)
    w = MainWindow(extensions=False)
    qtbot.addWidget(w)
    assert w.autosaver.delay_ms == 1500


def test_kill_9_keeps_every_saved_edit_and_a_valid_json(sample_project, tmp_path, qtbot, messages):
    """A window editing every 100 ms is killed with SIGKILL while edits are still unsaved: the JSON parses, holds
    the edits in order with no gap (writes are atomic and in order), and nothing the app had reported saved is
    lost.  (How soon an edit is saved is the deadline's job, tested on a fake clock above.)"""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", HOME=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path / "cfg"),
               XDG_DATA_HOME=str(tmp_path / "data"), PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([sys.executable, str(DRIVER), str(sample_project), "100"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    edits, saved = [], []
    try:
        for line in proc.stdout:
            if line.startswith("EDIT "):
                edits.append(int(line.split()[1]))
            elif line.startswith("SAVED "):
                saved.append(int(line.split()[1]))
            elif line.startswith("OPEN FAILED"):
                break
            # kill mid-editing: after a few saves, with edits made since the last one
            if len(saved) >= 3 and edits and edits[-1] > saved[-1]:
                break
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert saved, "the driver saved nothing: " + proc.stderr.read()[-2000:]
    assert proc.returncode == -signal.SIGKILL
    data = json.loads((sample_project / "img_000.json").read_text())  # parses: writes are atomic
    mine = [s.get("description") for s in data["shapes"] if (s.get("description") or "").startswith("edit-")]
    assert mine == [f"edit-{i}" for i in range(1, len(mine) + 1)]     # in order, no gap, nothing torn
    assert len(mine) >= saved[-1] > 0                                 # every edit reported saved is there
    # and what is on disk reopens in the app's model
    from segstudio.core.annotation.io import load_annotation

    assert len(load_annotation(sample_project / "img_000.json").shapes) == len(data["shapes"])
    shutil.rmtree(tmp_path / "cfg", ignore_errors=True)
    # ... and in the window: reopening the project shows those shapes
    from segstudio.gui.canvas.items import MaskShapeItem, PathShapeItem

    w = MainWindow(extensions=False)
    qtbot.addWidget(w)
    w.show()
    assert w.open_path(sample_project) and w.current_entry.stem == "img_000"
    shown = [w.document.shapes()[i].description for i in range(len(w.document.shapes()))]
    assert shown == [s.get("description") for s in data["shapes"]]
    assert set(mine) <= set(shown)
    items = [i for i in w.canvas.scene().items() if isinstance(i, (PathShapeItem, MaskShapeItem)) and i.isVisible()]
    assert len(items) == len(data["shapes"]) == w.shape_list.list.count()
    assert not w.document.is_modified and not w.autosaver.dirty
    w.autosaver.enabled = False


def test_save_now_writes_even_an_unchanged_document(window, sample_project):
    path = sample_project / "img_000.json"
    path.unlink()                                   # e.g. removed outside the app
    assert not window.autosaver.dirty
    window.actions_by_name["save"].trigger()        # File > Save now (Ctrl+S)
    assert len(json.loads(path.read_text())["shapes"]) == len(window.document.shapes())
    assert not window.autosaver.dirty and window.save_label.text() == "Saved img_000.json"
