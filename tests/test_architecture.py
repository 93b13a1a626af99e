"""segstudio.core must never import Qt, pyqtgraph, superqt, labelme or segstudio.gui."""
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
