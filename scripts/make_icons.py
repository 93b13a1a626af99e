"""Render the application icon from its SVG source: resources/icons/app/segstudio-<N>.png and segstudio.ico.

    .venv/bin/python scripts/make_icons.py            # rewrite the PNGs and the .ico (commit them)
    .venv/bin/python scripts/make_icons.py --sheet x.png   # also a contact sheet of every toolbar icon

Rendering uses Qt's own SVG renderer (PySide6.QtSvg), so the PNGs look like what the app draws; the .ico is
assembled by Pillow from the individually rendered sizes (no down-scaling of one big image).
"""
from __future__ import annotations

import argparse
import io
import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ROOT = Path(__file__).resolve().parents[1]
ICONS = ROOT / "resources" / "icons"
APP_SVG = ICONS / "app" / "segstudio.svg"
PNG_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)  # the .ico format stops at 256


def render(svg: Path, size: int):
    """The SVG rendered into a transparent size x size QImage."""
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"{svg}: not a valid SVG")
    image = QImage(size, size, QImage.Format_ARGB32)
    image.fill(Qt.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.Antialiasing)
    renderer.render(painter)
    painter.end()
    return image


def to_pil(image):
    from PIL import Image
    from PySide6.QtCore import QBuffer, QIODevice

    buf = QBuffer()
    buf.open(QIODevice.WriteOnly)
    image.save(buf, "PNG")
    return Image.open(io.BytesIO(bytes(buf.data()))).convert("RGBA")


def make_app_icons() -> list[Path]:
    written = []
    for size in PNG_SIZES:
        out = ICONS / "app" / f"segstudio-{size}.png"
        if not render(APP_SVG, size).save(str(out)):
            raise SystemExit(f"{out}: cannot write")
        written.append(out)
    images = [to_pil(render(APP_SVG, s)) for s in ICO_SIZES]
    ico = ICONS / "segstudio.ico"
    images[-1].save(ico, format="ICO", sizes=[(s, s) for s in ICO_SIZES], append_images=images[:-1])
    written.append(ico)
    return written


def contact_sheet(out: Path, size: int = 48) -> None:
    """Every toolbar icon at ``size`` px with its name, on white, for review."""
    from PySide6.QtCore import QRect, Qt
    from PySide6.QtGui import QColor, QImage, QPainter

    svgs = sorted((ICONS / "actions").glob("*.svg"))
    cols, cell = 8, size + 70
    sheet = QImage(cols * cell, ((len(svgs) + cols - 1) // cols) * (size + 30), QImage.Format_ARGB32)
    sheet.fill(QColor("white"))
    p = QPainter(sheet)
    for i, svg in enumerate(svgs):
        x, y = (i % cols) * cell, (i // cols) * (size + 30)
        p.drawImage(x + (cell - size) // 2, y + 4, render(svg, size))
        p.drawText(QRect(x, y + size + 6, cell, 20), Qt.AlignCenter, svg.stem)
    p.end()
    sheet.save(str(out))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sheet", type=Path, help="also write a contact sheet of the toolbar icons here")
    args = ap.parse_args(argv)
    from PySide6.QtGui import QGuiApplication

    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])  # noqa: F841 - fonts for the sheet
    for path in make_app_icons():
        print(f"wrote {path.relative_to(ROOT)}")
    if args.sheet:
        contact_sheet(args.sheet)
        print(f"wrote {args.sheet}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
