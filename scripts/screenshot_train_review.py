"""Screenshots of the training dock mid-run and of the review view, for docs/screenshots/.

Run under a virtual display (the offscreen platform draws no window decorations and fewer styles):

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python scripts/screenshot_train_review.py

Writes docs/screenshots/train_column.png, train_dock.png, train_window.png, review_overlay.png, review_side_by_side.png and
review_metrics.png, training a small U-Net for a few epochs on a fresh sample project (CPU, about a minute).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import segstudio.gui  # noqa: E402,F401  (applies the PySide6 6.12 refcount guard, segstudio/gui/pyside_fix.py)
from PySide6.QtCore import QCoreApplication, QEventLoop, QSettings, Qt, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402


def wait_for(signal, timeout_s: float, check=None) -> bool:
    """Run the event loop until ``signal`` fires (and ``check()`` holds) or the timeout passes."""
    loop = QEventLoop()
    fired = []

    def on_signal(*args):
        if check is None or check(*args):
            fired.append(args)
            loop.quit()

    signal.connect(on_signal)
    QTimer.singleShot(int(timeout_s * 1000), loop.quit)
    loop.exec()
    signal.disconnect(on_signal)
    return bool(fired)


def settle(ms: int = 400) -> None:
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    ap.add_argument("--epochs", type=int, default=14)
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="segstudio-shots-"))
    QCoreApplication.setOrganizationName("segstudio-screenshots")
    QSettings.setDefaultFormat(QSettings.IniFormat)
    QSettings.setPath(QSettings.IniFormat, QSettings.UserScope, str(tmp / "settings"))
    app = QApplication.instance() or QApplication(sys.argv)

    from segstudio.core.sample import make_sample_project
    from segstudio.gui.main_window import MainWindow

    project = make_sample_project(tmp / "sample_project")
    win = MainWindow()
    win.resize(1500, 950)
    win.show()
    win.open_project(project)
    train, review = win.docks["training"], win.docks["review"]
    train.raise_()
    train.form.set_values(model="unet", epochs=args.epochs, batch_size=4, img_size=96, device="cpu",
                          max_minutes=0)
    settle()
    if not train.start_training(model_kwargs={"base": 8, "depth": 3}):
        print("error: training did not start", file=sys.stderr)
        return 2
    mid = max(2, args.epochs // 2)
    if not wait_for(train.controller.epochEnded, 600, check=lambda ev: ev.epoch >= mid):
        print("error: training did not reach epoch", mid, train.controller.last_error, file=sys.stderr)
        return 2
    wait_for(train.controller.batchEnded, 60)      # mid-epoch: progress bar and ETA are live
    settle(300)
    win.grab().save(str(args.out / "train_column.png"))   # the default place: a tab beside the panels
    # dragged to the bottom, the docks lay themselves out side by side
    for dock in (train, review):
        win.addDockWidget(Qt.BottomDockWidgetArea, dock)
    win.tabifyDockWidget(train, review)
    train.raise_()
    win.resizeDocks([train], [340], Qt.Vertical)
    wait_for(train.controller.batchEnded, 60)
    settle(300)
    train.grab().save(str(args.out / "train_dock.png"))
    win.grab().save(str(args.out / "train_window.png"))
    print("wrote train_column.png, train_dock.png, train_window.png")
    if train.running:
        wait_for(train.controller.finished, 900)
    settle()

    train.runs.table.selectRow(0)
    train.runs.use_button.click()
    review.raise_()
    win.resizeDocks([review], [470], Qt.Vertical)
    if not review.predict(all_images=True) or not wait_for(review.evaluated, 600):
        print("error: prediction failed", file=sys.stderr)
        return 2
    settle()
    # the worst image first, as a reviewer would
    worst = review.sorted_stems()[0]
    win.open_image(next(e for e in win.project.images if e.stem == worst))
    review.view.show_gt.setChecked(True)
    review.view.opacity.setValue(45)
    settle()
    win.grab().save(str(args.out / "review_overlay.png"))
    review.view.side_by_side.setChecked(True)
    review.view.errors.setChecked(True)
    settle()
    review.grab().save(str(args.out / "review_side_by_side.png"))
    review.view.side_by_side.setChecked(False)
    review.view.errors.setChecked(False)
    review.tabs.setCurrentIndex(0)
    settle()
    review.grab().save(str(args.out / "review_metrics.png"))
    print("wrote review_overlay.png, review_side_by_side.png, review_metrics.png")
    win.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
