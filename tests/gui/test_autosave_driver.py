"""Driver for the kill -9 autosave test (run as a script, not a test module: it defines no tests).

``python tests/gui/test_autosave_driver.py PROJECT [INTERVAL_MS]`` opens the real MainWindow offscreen on
PROJECT, opens img_000 and, on a timer, adds one polygon per tick through the window's document (the same
undo-stack path the canvas uses), alternating with a move of the new shape every third edit, and prints
``EDIT n`` (flushed) after each.  The shape of edit n has description ``edit-n``.  After each autosave it
prints ``SAVED m``, m the last edit the JSON on disk holds.  It runs until killed.
"""
from __future__ import annotations

import os
import sys


def main(argv) -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QTimer

    from segstudio.core.annotation.document import Shape
    from segstudio.gui.app import make_app
    from segstudio.gui.main_window import MainWindow

    folder = argv[1]
    interval = int(argv[2]) if len(argv) > 2 else 100
    app = make_app(["driver"])
    window = MainWindow(extensions=False)
    window.canvas.label_requested = None
    window.show()
    if not window.open_path(folder):
        print("OPEN FAILED", flush=True)
        return 3
    window.open_image(window.project.entry_for("img_000"))
    print(f"READY {window.autosaver.delay_ms}", flush=True)
    state = {"n": 0}

    def edit() -> None:
        n = state["n"] = state["n"] + 1
        x = 5.0 + (n * 7) % 200
        shape = Shape(label="lesion", points=[[x, 5.0], [x + 20.0, 8.0], [x + 10.0, 30.0]],
                      description=f"edit-{n}")
        window.document.add_shapes([shape])
        if n % 3 == 0:  # a move is an edit too (replaces the shape object)
            window.document.move_shapes([len(window.document.shapes()) - 1], 1.0, 1.0)
        print(f"EDIT {n}", flush=True)

    def saved(path) -> None:
        import json

        shapes = json.loads(open(path, encoding="utf-8").read())["shapes"]
        done = [int(d[5:]) for d in (s.get("description") or "" for s in shapes) if d.startswith("edit-")]
        print(f"SAVED {max(done, default=0)}", flush=True)

    window.autosaver.saved.connect(saved)
    timer = QTimer()
    timer.timeout.connect(edit)
    timer.start(interval)
    return app.exec()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
