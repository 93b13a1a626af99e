"""``segstudio gui [PATH]``: open the annotation app (also what ``segstudio`` without arguments does)."""
from __future__ import annotations

import sys
from pathlib import Path

from segstudio.core.errors import DatasetError


def register(sub) -> None:
    p = sub.add_parser(
        "gui",
        help="open the annotation app (default command)",
        description="Open the annotation app on a folder of images (labelme layout: JSON beside each image), "
        "a segstudio project (segstudio.json), or a single image/JSON file. Without PATH: the last "
        "project, or the welcome page.",
    )
    p.add_argument("path", nargs="?", type=Path, help="folder, segstudio.json, image or labelme JSON")
    p.set_defaults(func=run, path=None)


def run(args) -> int:
    from segstudio.gui.app import display_problem

    path = getattr(args, "path", None)
    if path is not None and not Path(path).exists():
        raise DatasetError("no such file or folder", path)
    problem = display_problem()
    if problem:
        print(f"segstudio gui: {problem}", file=sys.stderr)
        return 1
    from segstudio.gui.app import run_app

    return run_app(path)
