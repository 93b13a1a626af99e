"""Screenshot of the box tool on a PH2 image -> docs/screenshots/assist_box.png.

Run under a (virtual) display:
    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python scripts/screenshot_assist.py [--weights best.pt] [OUT.png]
The image comes from ../shared/data/ph2 (copied to a temporary project, never into the repository); settings go
to a temporary folder.  With --weights the project's model is the method (as after training), else GrabCut.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SEGSTUDIO_SHARED_DATA", ROOT.parent / "shared" / "data"))
STEM = "IMD078"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("out", nargs="?", type=Path, default=ROOT / "docs" / "screenshots" / "assist_box.png")
    ap.add_argument("--weights", type=Path)
    args = ap.parse_args(argv)
    from PySide6.QtCore import QCoreApplication, QSettings
    from PySide6.QtWidgets import QApplication

    from segstudio.core.annotation import read_label_mask
    from segstudio.gui.app import display_problem

    problem = display_problem()
    if problem:
        print(f"screenshot_assist: {problem}", file=sys.stderr)
        return 1
    tmp = Path(tempfile.mkdtemp(prefix="segstudio-shot-"))
    QSettings.setDefaultFormat(QSettings.IniFormat)
    QSettings.setPath(QSettings.IniFormat, QSettings.UserScope, str(tmp / "settings"))
    QCoreApplication.setOrganizationName("segstudio-screenshot")
    QCoreApplication.setApplicationName("segstudio-screenshot")
    app = QApplication.instance() or QApplication([sys.argv[0]])
    from segstudio.gui.main_window import MainWindow

    project = tmp / "dermoscopy"
    project.mkdir()
    for stem in (STEM, "IMD009", "IMD018", "IMD063"):
        shutil.copy(SHARED / "ph2" / "images" / f"{stem}.jpg", project / f"{stem}.jpg")
    (project / "labels.txt").write_text("__ignore__\n_background_\nlesion\n")
    gt = read_label_mask(SHARED / "ph2" / "masks" / f"{STEM}.png", 2) == 1
    ys, xs = np.nonzero(gt)
    window = MainWindow()
    window.resize(1440, 900)
    window.show()
    window.open_path(project / f"{STEM}.jpg")
    window.choose_class("lesion")
    if args.weights:
        window.session.set_checkpoint(args.weights)
    window.assist.set_method("model" if args.weights else "grabcut")
    window.assist_panel.refresh_methods()
    window.canvas.set_tool("assist_box")
    for key in ("training", "review"):   # room for the canvas: the box tool is what this picture shows
        if key in window.docks:
            window.docks[key].hide()
    window.docks["assist"].raise_()
    window.canvas.fit()
    m = 0.05
    w, h = xs.max() - xs.min(), ys.max() - ys.min()
    window.assist.request_box((xs.min() - m * w, ys.min() - m * h, xs.max() + m * w, ys.max() + m * h))
    window.assist.wait(120000)
    # one positive click in the lesion, one negative in the skin just outside it
    cy = int(ys.mean())
    window.assist.request_click(float(xs[ys == cy].max() - 5), float(cy), True)
    window.assist.request_click(float(xs.min() - m * w / 2), float(ys.min() + 2), False)
    window.assist.wait(120000)
    for _ in range(30):
        app.processEvents()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if not window.grab().save(str(args.out)):
        print(f"screenshot_assist: could not write {args.out}", file=sys.stderr)
        return 1
    print(f"wrote {args.out}")
    window.autosaver.enabled = False
    window.assist.shutdown()
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
