"""Start-up stays light (issue 10): ``segstudio --help`` lists every command from cli.COMMANDS without importing the
command modules, the table matches what the modules register, the main window reaches its first frame without
torch or torchvision (the training form's model and loss lists come from core.catalog, whose tables match the
registries) and loads them after it.

Each check runs in a fresh interpreter (``sys.modules`` of the test process already holds torch)."""
from __future__ import annotations

import argparse
import importlib
import json
import os
import subprocess
import sys
import textwrap

from segstudio.cli import COMMAND_MODULES, COMMANDS


def run_python(code: str, *args: str, env_extra: dict | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", **(env_extra or {}))
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code), *args], capture_output=True, text=True,
                          env=env, timeout=300)


def test_help_lists_every_command_without_importing_them():
    r = run_python("""
        import json, sys
        from segstudio.cli import main
        try:
            main(["--help"])
        except SystemExit as exc:
            assert exc.code == 0, exc.code
        loaded = sorted(m for m in sys.modules if m.startswith("segstudio.commands.") or m in ("torch", "torchvision"))
        print(json.dumps(loaded))
    """)
    assert r.returncode == 0, r.stderr
    help_text, loaded = r.stdout.rsplit("\n", 2)[0], json.loads(r.stdout.strip().splitlines()[-1])
    for name, (_module, help_line) in COMMANDS.items():
        assert f"    {name}" in help_text, name
        assert help_line.split()[0] in help_text
    assert loaded == []


def test_command_table_matches_what_the_modules_register():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers()
    for module in COMMAND_MODULES:
        importlib.import_module(f"segstudio.commands.{module}").register(sub)
    registered = {a.dest: a.help for a in sub._choices_actions}
    assert registered == {name: help_line for name, (_m, help_line) in COMMANDS.items()}
    assert list(registered) == list(COMMANDS)   # --help lists them in the modules' order


def test_chosen_command_parses_its_own_options_only_importing_its_module():
    r = run_python("""
        import json, sys
        from segstudio.cli import build_parser
        args = build_parser("sample").parse_args(["sample", "out", "-n", "3"])
        print(json.dumps([args.n_images, sorted(m for m in sys.modules if m.startswith("segstudio.commands."))]))
    """)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout.strip().splitlines()[-1]) == [3, ["segstudio.commands.sample"]]


def test_catalog_tables_match_what_the_modules_register():
    from segstudio.core.catalog import BUILTIN_LOSSES, BUILTIN_MODELS, describe
    from segstudio.core.losses import LOSSES
    from segstudio.core.models import MODELS

    for table, registry, package in ((BUILTIN_MODELS, MODELS, "segstudio.core.models"),
                                     (BUILTIN_LOSSES, LOSSES, "segstudio.core.losses")):
        builtin = {name: describe(registry.get(name)) for name in registry.names()
                   if registry.get(name).__module__.startswith(package + ".")}
        assert table == builtin, registry.kind
        assert all(table.values()), registry.kind   # every built-in has a description


# Records, in the child, the segstudio frames that first import each of torch / torchvision (None: not imported)
# and what the window holds at its first paint; then waits for the training form's full lists.
WINDOW_CODE = """
    import importlib.abc, json, sys, traceback
    from pathlib import Path

    first = {}

    class Watch(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path, target=None):
            if name in ("torch", "torchvision") and name not in first:
                first[name] = [f"{f.filename.rsplit('/segstudio/', 1)[-1]}:{f.lineno}"
                               for f in traceback.extract_stack() if "/segstudio/" in f.filename]
            return None

    sys.meta_path.insert(0, Watch())
    from PySide6.QtCore import QEvent, QObject, QTimer
    from PySide6.QtWidgets import QApplication
    app = QApplication([])
    from segstudio.gui.main_window import MainWindow
    from segstudio.gui.training.choices import ChoicesLoader
    w = MainWindow()
    report = {}

    dock = w.findChild(QObject, "TrainingDock")

    class FirstPaint(QObject):
        def eventFilter(self, obj, event):
            if event.type() == QEvent.Paint and not report:
                report.update(first_frame=dict(first), docks=len(w.services.extension_docks),
                              models=[dock.form.model.itemText(i) for i in range(dock.form.model.count())],
                              complete=dock.form.choices.complete)
                if dock.form.choices.complete:   # nothing left to load: torch came before the first frame
                    QTimer.singleShot(0, app.quit)
                elif not dock.isVisible():       # the user opens the Training panel (View menu)
                    QTimer.singleShot(0, dock.toggleViewAction().trigger)
            return False

    watcher = FirstPaint()
    w.installEventFilter(watcher)
    w.open_path(Path(sys.argv[1]))
    w.show()
    ChoicesLoader.instance().loaded.connect(lambda _c: QTimer.singleShot(0, app.quit))
    QTimer.singleShot(120_000, app.quit)
    app.exec()
    form = w.findChild(QObject, "TrainingDock").form
    report.update(after=dict(complete=form.choices.complete, torch="torch" in sys.modules,
                             models=[form.model.itemText(i) for i in range(form.model.count())],
                             devices=[form.device.itemData(i) for i in range(form.device.count())],
                             auto=form.device.itemText(0)))
    w.close()
    print(json.dumps(report))
"""


def test_main_window_reaches_its_first_frame_without_torch_then_loads_the_training_lists(sample_project_ro,
                                                                                         tmp_path):
    from segstudio.core.catalog import BUILTIN_MODELS

    r = run_python(WINDOW_CODE, str(sample_project_ro),
                   env_extra={"HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "cfg")})
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout.strip().splitlines()[-1])
    assert report["docks"] >= 3          # the extensions' docks (training, review, ...) were built
    # the first import of each before the first frame, by whom (empty: not imported)
    assert report["first_frame"] == {}, " / ".join(f"{m}: {' > '.join(s)}" for m, s in report["first_frame"].items())
    assert report["models"] == sorted(BUILTIN_MODELS) and report["complete"] is False
    after = report["after"]      # then the registries' lists, loaded on a worker
    assert after["complete"] is True and after["torch"] is True
    assert set(BUILTIN_MODELS) <= set(after["models"])
    assert after["devices"][:2] == ["auto", "cpu"] and "looking" not in after["auto"]


def test_core_inference_exports_lazily_and_overlay_stays_the_function():
    r = run_python("""
        import json, sys
        import segstudio.core.review.layer   # the canvas review layer: imports core.inference.overlay
        from segstudio.core import inference
        loaded = "torch" in sys.modules
        from segstudio.core.inference import overlay
        names = {n: type(getattr(inference, n)).__name__ for n in inference.__all__}
        print(json.dumps([loaded, callable(overlay) and overlay.__name__, "torch" in sys.modules, names]))
    """)
    assert r.returncode == 0, r.stderr
    loaded_before, overlay_name, loaded_after, names = json.loads(r.stdout.strip().splitlines()[-1])
    assert loaded_before is False and overlay_name == "overlay"   # the function, not the submodule of that name
    assert loaded_after is True and "module" not in names.values() and names["Predictor"] == "type"
