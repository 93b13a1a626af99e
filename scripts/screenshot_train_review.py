"""Screenshots of the training and review panels in the main window, at the virtual screen's size.

Run under a virtual display of the size wanted (the offscreen platform draws no window decorations):

    xvfb-run -a -s "-screen 0 1920x1080x24" .venv/bin/python scripts/screenshot_train_review.py
    xvfb-run -a -s "-screen 0 1366x768x24" .venv/bin/python scripts/screenshot_train_review.py

Writes docs/screenshots/train_<W>x<H>.png (mid-run), train_done_<W>x<H>.png (the run finished: its model is the
project's), review_<W>x<H>.png (Predict all done, validation metrics) and review_side_by_side.png (the review
panel alone; at 1920x1080 only), training a small U-Net for a few epochs on a fresh sample project (CPU, about
a minute).  The window fills the screen's available area; the panels are opened from the toolbar, as a user
would.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import segstudio.gui  # noqa: E402,F401  (applies the PySide6 6.12 refcount guard, segstudio/gui/pyside_fix.py)
from PySide6.QtCore import QCoreApplication, QEventLoop, QSettings, QTimer  # noqa: E402
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
    ap.add_argument("--epochs", type=int, default=8)
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
    avail = win.screen().availableGeometry()
    size = f"{avail.width()}x{avail.height()}"
    win.setGeometry(avail)
    win.show()
    win.fit_to_screen()
    win.open_project(project)
    train, review = win.docks["training"], win.docks["review"]
    win.panel_buttons["training"].click()          # the toolbar's Training button
    train.form.set_values(model="unet", epochs=args.epochs, batch_size=4, img_size=96, device="cpu",
                          max_minutes=0)
    settle()
    if not train.start_training(model_kwargs={"base": 8, "depth": 3}):
        print("error: training did not start", file=sys.stderr)
        return 2
    mid = max(2, args.epochs // 2)
    if not wait_for(train.controller.epochEnded, 900, check=lambda ev: ev.epoch >= mid):
        print("error: training did not reach epoch", mid, train.controller.last_error, file=sys.stderr)
        return 2
    wait_for(train.controller.batchEnded, 60)      # mid-epoch: progress bar and ETA are live
    settle(300)
    win.grab().save(str(args.out / f"train_{size}.png"))
    if train.running:
        wait_for(train.controller.finished, 900)
    settle()
    win.grab().save(str(args.out / f"train_done_{size}.png"))
    print(f"wrote train_{size}.png, train_done_{size}.png")

    train.review_button.click()                    # the finished run's model is the project's: review it
    settle()
    if not review.predict(all_images=True) or not wait_for(review.evaluated, 900):
        print("error: prediction failed", file=sys.stderr)
        return 2
    settle()
    worst = review.sorted_stems()[0]               # the worst image first, as a reviewer would
    win.open_image(next(e for e in win.project.images if e.stem == worst))
    review.view.show_gt.setChecked(True)
    review.view.opacity.setValue(45)
    settle()
    win.grab().save(str(args.out / f"review_{size}.png"))
    if avail.width() >= 1900:
        review.view.pane_box.setChecked(True)      # "Side by side": the dock's own pane (off by default)
        review.view.side_by_side.setChecked(True)
        review.view.errors.setChecked(True)
        settle()
        review.grab().save(str(args.out / "review_side_by_side.png"))
    print(f"wrote review_{size}.png")
    win.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
