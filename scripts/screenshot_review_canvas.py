"""Screenshot of the review overlay on the main canvas (issue 13): errors mode, zoomed in, the Review panel open.

    xvfb-run -a -s "-screen 0 1920x1080x24" .venv/bin/python scripts/screenshot_review_canvas.py

Writes docs/screenshots/review_on_canvas.png.  No training: the "prediction" of the image shown is its own
annotation moved 6 pixels right and down and missing its smallest region, so the picture has true positives
(green), false positives (red) and false negatives (blue) in known places.  The other images are not predicted.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import segstudio.gui  # noqa: E402,F401  (applies the PySide6 6.12 refcount guard, segstudio/gui/pyside_fix.py)
from PySide6.QtCore import QCoreApplication, QSettings  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from scripts.screenshot_train_review import settle, wait_for  # noqa: E402


def fake_prediction(gt):
    import numpy as np
    from scipy import ndimage

    pred = np.zeros_like(gt)
    pred[6:, 6:] = np.clip(gt, 0, None)[:-6, :-6]
    regions, n = ndimage.label(pred > 0)
    if n > 1:
        sizes = ndimage.sum(np.ones_like(regions), regions, range(1, n + 1))
        pred[regions == 1 + int(np.argmin(sizes))] = 0
    return pred


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="segstudio-shots-"))
    QCoreApplication.setOrganizationName("segstudio-screenshots")
    QSettings.setDefaultFormat(QSettings.IniFormat)
    QSettings.setPath(QSettings.IniFormat, QSettings.UserScope, str(tmp / "settings"))
    app = QApplication.instance() or QApplication(sys.argv)  # noqa: F841

    from segstudio.core.annotation.masks import write_label_png
    from segstudio.core.project import Project
    from segstudio.core.review import ground_truth
    from segstudio.core.sample import make_sample_project
    from segstudio.gui.main_window import MainWindow

    folder = make_sample_project(tmp / "sample_project")
    project = Project(folder)
    entry = project.images[0]
    project.predictions_dir.mkdir(parents=True, exist_ok=True)
    write_label_png(project.predictions_dir / f"{entry.stem}.png", fake_prediction(ground_truth(project, entry)))

    win = MainWindow()
    avail = win.screen().availableGeometry()
    win.setGeometry(avail)
    win.show()
    win.fit_to_screen()
    win.open_project(folder)
    review = win.docks["review"]
    win.panel_buttons["review"].click()            # the toolbar's Review button
    win.open_image(win.project.images[0])
    overlay = review.canvas_overlay
    review.view.errors.setChecked(True)
    review.view.opacity.setValue(55)
    wait_for(overlay.updated, 30, check=lambda: not overlay.layer.pixmap().isNull())
    settle()
    import numpy as np
    from PySide6.QtCore import QPointF

    ys, xs = np.nonzero(ground_truth(win.project, win.project.images[0]) > 0)
    centre = QPointF(float(xs.mean()), float(ys.mean()))   # where the errors are, as a reviewer zooms
    win.canvas.fit()
    win.canvas.zoom_by(1.4, centre)
    win.canvas.centerOn(centre)
    settle(600)
    out = args.out / "review_on_canvas.png"
    win.grab().save(str(out))
    print(f"wrote {out}")
    win.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
