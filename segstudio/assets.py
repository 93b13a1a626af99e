"""The files of the top-level ``resources/`` folder (icons, texts, licence), wherever segstudio runs from.

* installed wheel and PyInstaller bundle: the build puts ``resources/`` into the package as
  ``segstudio/resources/`` (setup.py's build step, installer/segstudio.spec), found with
  :func:`importlib.resources.files`;
* source checkout (editable install, ``python -m segstudio``): the ``resources/`` folder beside the package.

Qt-free (the CLI and the core may use it).
"""
from __future__ import annotations

import tomllib
from functools import lru_cache
from importlib import resources
from pathlib import Path

#: a file that every complete resources folder has (the SVG source of the application icon)
_MARKER = ("icons", "app", "segstudio.svg")


class ResourceNotFound(FileNotFoundError):
    pass


@lru_cache(maxsize=1)
def resources_root() -> Path:
    """The folder holding icons/, text/, linux/ and LICENSE.txt."""
    candidates = []
    try:
        packaged = resources.files("segstudio").joinpath("resources")
        candidates.append(Path(str(packaged)))
    except (ModuleNotFoundError, TypeError):  # pragma: no cover - segstudio is always importable here
        pass
    candidates.append(Path(__file__).resolve().parents[1] / "resources")  # source checkout
    for root in candidates:
        if root.joinpath(*_MARKER).is_file():
            return root
    raise ResourceNotFound("segstudio's resources folder was not found (looked in: "
                           + ", ".join(str(c) for c in candidates) + "); reinstall segstudio")


def resource_path(*parts: str) -> Path:
    """``resource_path("icons", "actions", "undo.svg")``; raises ResourceNotFound when it is missing."""
    path = resources_root().joinpath(*parts)
    if not path.exists():
        raise ResourceNotFound(f"{path}: missing from segstudio's resources; reinstall segstudio")
    return path


@lru_cache(maxsize=None)
def texts() -> dict:
    """resources/text/about.toml: the window and About texts."""
    with resource_path("text", "about.toml").open("rb") as f:
        return tomllib.load(f)


def license_text() -> str:
    return resource_path("LICENSE.txt").read_text(encoding="utf-8")
