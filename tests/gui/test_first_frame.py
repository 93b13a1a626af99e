"""The first-frame hook of benchmarks/startup.py and the bundle's smoke test (gui/first_frame.py)."""
from __future__ import annotations

from PySide6.QtWidgets import QApplication, QLabel

from segstudio.gui import first_frame


def test_nothing_is_watched_without_the_variables(qtbot, monkeypatch):
    monkeypatch.delenv(first_frame.REPORT_ENV, raising=False)
    monkeypatch.delenv(first_frame.QUIT_ENV, raising=False)
    w = QLabel("x")
    qtbot.addWidget(w)
    assert first_frame.watch_first_frame(w) is None


def test_first_paint_is_reported_and_quits(qtbot, monkeypatch, capsys):
    monkeypatch.setenv(first_frame.REPORT_ENV, "1")
    monkeypatch.setenv(first_frame.QUIT_ENV, "1")
    quits = []
    monkeypatch.setattr(QApplication, "quit", lambda *a: quits.append(1))
    w = QLabel("first frame")
    qtbot.addWidget(w)
    watcher = first_frame.watch_first_frame(w)
    w.show()
    qtbot.waitUntil(lambda: quits == [1])
    assert watcher.seconds is not None and 0 < watcher.seconds < 36000
    assert not w.isVisible()  # closed before the event loop is left
    err = capsys.readouterr().err
    assert f"{first_frame.MARKER} {watcher.seconds:.3f} s" in err
    w.show()  # a later paint does not report or quit again
    qtbot.waitExposed(w)
    assert quits == [1] and first_frame.MARKER not in capsys.readouterr().err


def test_process_age_is_positive():
    assert first_frame.process_age_s() > 0
