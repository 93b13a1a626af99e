"""Screenshots of the welcome page and of the annotation window on the sample project, at the screen's size:
docs/screenshots/welcome_<W>x<H>.png and annotate_<W>x<H>.png (and annotate.png, the README's, at 1920x1080).

Run under a (virtual) display of the size wanted:
    xvfb-run -a -s "-screen 0 1920x1080x24" .venv/bin/python scripts/screenshot_annotate.py [OUT_FOLDER]
    xvfb-run -a -s "-screen 0 1366x768x24" .venv/bin/python scripts/screenshot_annotate.py [OUT_FOLDER]
Settings go to a temporary folder, so your own recent projects are neither used nor changed.
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(argv) -> int:
    folder = Path(argv[1]) if len(argv) > 1 else ROOT / "docs" / "screenshots"
    from PySide6.QtCore import QCoreApplication, QSettings
    from PySide6.QtWidgets import QApplication

    from segstudio.core.sample import make_sample_project
    from segstudio.gui.app import display_problem

    problem = display_problem()
    if problem:
        print(f"screenshot_annotate: {problem}", file=sys.stderr)
        return 1
    tmp = Path(tempfile.mkdtemp(prefix="segstudio-shot-"))
    QSettings.setDefaultFormat(QSettings.IniFormat)
    QSettings.setPath(QSettings.IniFormat, QSettings.UserScope, str(tmp / "settings"))
    QCoreApplication.setOrganizationName("segstudio-screenshot")
    QCoreApplication.setApplicationName("segstudio-screenshot")
    app = QApplication.instance() or QApplication([sys.argv[0]])
    from segstudio.gui.main_window import MainWindow

    project = make_sample_project(tmp / "skin_lesions", n_images=24)
    (project / "flags.txt").write_text("blurry\nhair artefact\nneeds second opinion\n", encoding="utf-8")
    window = MainWindow()
    avail = window.screen().availableGeometry()
    size = f"{avail.width()}x{avail.height()}"
    window.setGeometry(avail)
    window.show()
    window.fit_to_screen()
    (tmp / "ultrasound_study").mkdir()
    window.settings.add_recent_project(tmp / "ultrasound_study")   # the welcome page's Recent projects
    window.settings.add_recent_project(project)
    window._update_recent()
    for _ in range(20):
        app.processEvents()
    folder.mkdir(parents=True, exist_ok=True)
    window.grab().save(str(folder / f"welcome_{size}.png"))
    out = folder / f"annotate_{size}.png"
    window.open_path(project)
    window.open_image(window.project.entry_for("img_004"))
    (project / "img_007.json").unlink()  # a few images still to do, so the statuses differ
    (project / "img_011.json").unlink()
    window.project.set_reviewed(window.project.entry_for("img_002"), True)
    window.refresh_statuses()
    window.choose_class("lesion")
    window.canvas.set_tool("polygon")
    window.document.select([0])
    for _ in range(20):
        app.processEvents()
    window.canvas.fit()
    app.processEvents()
    if not window.grab().save(str(out)):
        print(f"screenshot_annotate: could not write {out}", file=sys.stderr)
        return 1
    print(f"wrote {out}")
    if avail.width() >= 1900:
        window.grab().save(str(folder / "annotate.png"))
    window.autosaver.enabled = False
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
