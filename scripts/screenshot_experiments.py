"""Screenshot of the Experiments panel in the main window with a finished tiny experiment.

Run under a virtual display of the size wanted (the offscreen platform draws no window decorations):

    xvfb-run -a -s "-screen 0 1920x1080x24" .venv/bin/python scripts/screenshot_experiments.py

Writes docs/screenshots/experiments.png (at 1920x1080; experiments_<W>x<H>.png at another size): a fresh sample
project, a plan built in the panel's form (U-Net vs CBAM-U-Net, two seeds, ten epochs of a small model at
64 px on the CPU, a few minutes), run from the panel to its end, the runs' val mIoU curves overlaid, the
results table and the Wilcoxon test of the two groups.
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


def run_until(check, timeout_s: float, step_ms: int = 200) -> bool:
    """Run the event loop until ``check()`` holds or the timeout passes."""
    loop = QEventLoop()
    waited = [0]

    def poll():
        waited[0] += step_ms
        if check() or waited[0] >= timeout_s * 1000:
            loop.quit()
        else:
            QTimer.singleShot(step_ms, poll)

    QTimer.singleShot(step_ms, poll)
    loop.exec()
    return bool(check())


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    ap.add_argument("--epochs", type=int, default=10)
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
    win.actions_by_name["show_experiments"].trigger()   # Experiments > Show Experiments panel
    dock = win.docks["experiments"]
    form = dock.form
    if not run_until(lambda: form.choices_loaded, 60):
        print("the model list did not load", file=sys.stderr)
        return 1
    form.name.setText("unet_vs_cbam")
    form.models.set_checked(["unet", "cbam_unet"])
    form.losses.set_checked(["dice_ce"])
    form.augments.set_checked(["light"])
    form.seeds.setText("0, 1")
    form.holdout_every.setValue(4)
    form.epochs.setValue(args.epochs)
    form.img_size.setValue(64)
    form.batch_size.setValue(4)
    form.patience.setValue(0)
    form.minutes.setValue(0)
    form.extra = {"train": {"model_kwargs": {"base": 8, "depth": 3}, "threads": 1}}
    plan = tmp / "plans" / "unet_vs_cbam.yaml"
    if not dock.save_plan(plan, then_start=True):
        print("the plan could not be saved", file=sys.stderr)
        return 1
    run_until(lambda: dock.running, 120)
    run_until(lambda: not dock.running and not dock.checker.busy, 900)
    if dock.table.statuses() != ["done"] * 4:
        print(f"the queue did not finish: {dock.table.statuses()} {dock.status.text()}", file=sys.stderr)
        return 1
    view = dock.compare
    view.set_metric("miou")
    groups = [view.run_a.itemData(i) for i in range(view.run_a.count())]
    view.pick(groups[0], groups[1], "dice")
    view.compare()
    dock.table.selectRow(0)
    run_until(lambda: False, 0.6)
    name = "experiments.png" if size == "1920x1080" else f"experiments_{size}.png"
    win.grab().save(str(args.out / name))
    print(args.out / name)
    dock.shutdown()
    win.close()
    app.processEvents()
    return 0


if __name__ == "__main__":
    sys.exit(main())
