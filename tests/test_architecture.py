"""The core/gui wall: segstudio.core never imports Qt, pyqtgraph, superqt, labelme or segstudio.gui, and
every module of segstudio.gui is Qt code (Qt-free logic lives in core)."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = ("PySide6", "PyQt5", "PyQt6", "pyqtgraph", "superqt", "labelme", "segstudio.gui")


def _imports(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                yield node.lineno, a.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module


def test_core_sources_import_nothing_forbidden():
    bad = []
    for path in sorted((ROOT / "segstudio" / "core").rglob("*.py")):
        for lineno, name in _imports(path):
            if any(name == f or name.startswith(f + ".") for f in FORBIDDEN):
                bad.append(f"{path.relative_to(ROOT)}:{lineno} imports {name}")
    assert not bad, "core must stay Qt-free:\n" + "\n".join(bad)


def test_importing_core_loads_no_qt():
    code = (
        "import sys, pkgutil, importlib, segstudio.core as c\n"
        "for m in pkgutil.walk_packages(c.__path__, 'segstudio.core.'):\n"
        "    importlib.import_module(m.name)\n"
        f"bad = [m for m in sys.modules if m.split('.')[0] in {('PySide6','PyQt5','PyQt6','pyqtgraph','superqt','labelme')!r} or m.startswith('segstudio.gui')]\n"
        "print(bad); sys.exit(1 if bad else 0)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stdout + r.stderr


def test_import_linter_contract():
    lint = Path(sys.executable).with_name("lint-imports")
    if not lint.exists():
        pytest.skip("import-linter not installed")
    r = subprocess.run([str(lint)], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stdout + r.stderr


GUI_TOOLKITS = ("PySide6", "pyqtgraph", "superqt", "shiboken6")
# Modules under segstudio/gui with code but no direct Qt import, each with the reason.  Anything else there
# that defines functions or classes without touching Qt is Qt-free logic and belongs in segstudio/core
# (docs/architecture.md).
GUI_WITHOUT_QT = {
    "segstudio/gui/branding.py": "calls Qt methods on the app and window it is given (icon, About, action icons)",
}


def _has_code(path: Path) -> bool:
    """Defines a class or a function (package ``__init__`` hooks ``__getattr__`` / ``install`` aside): a module
    of constants only (menu texts, key tables) is data, not logic."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    hooks = ("__getattr__", "install") if path.name == "__init__.py" else ()
    return any(isinstance(n, ast.ClassDef) or (isinstance(n, ast.FunctionDef) and n.name not in hooks)
               for n in tree.body)


def test_every_gui_module_imports_qt():
    bad = []
    for path in sorted((ROOT / "segstudio" / "gui").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel in GUI_WITHOUT_QT or not _has_code(path):
            continue
        if not any(name.split(".")[0] in GUI_TOOLKITS for _, name in _imports(path)):
            bad.append(rel)
    assert not bad, ("these gui modules have code but import no Qt/pyqtgraph/superqt: Qt-free code goes to "
                     "segstudio/core (or list the module in GUI_WITHOUT_QT with the reason):\n" + "\n".join(bad))


def test_gui_exemptions_still_exist():
    missing = [p for p in GUI_WITHOUT_QT if not (ROOT / p).is_file()]
    assert not missing, f"GUI_WITHOUT_QT names modules that are gone: {missing}"
