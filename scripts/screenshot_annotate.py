"""Screenshot of the annotation window on the sample project -> docs/screenshots/annotate.png.

Run under a (virtual) display:  xvfb-run -a .venv/bin/python scripts/screenshot_annotate.py [OUT.png]
Settings go to a temporary folder, so your own recent projects are neither used nor changed.
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(argv) -> int:
    out = Path(argv[1]) if len(argv) > 1 else ROOT / "docs" / "screenshots" / "annotate.png"
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
    window.resize(1440, 900)
    window.show()
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
    out.parent.mkdir(parents=True, exist_ok=True)
    if not window.grab().save(str(out)):
        print(f"screenshot_annotate: could not write {out}", file=sys.stderr)
        return 1
    print(f"wrote {out}")
    window.autosaver.enabled = False
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
