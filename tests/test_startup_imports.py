"""Start-up stays light (issue 10): ``segstudio --help`` lists every command from cli.COMMANDS without importing the
command modules, the table matches what the modules register, and the main window is built without torchvision.

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


def test_main_window_on_the_sample_project_does_not_import_torchvision(sample_project_ro, tmp_path):
    r = run_python("""
        import json, sys
        from pathlib import Path
        from PySide6.QtWidgets import QApplication
        app = QApplication([])
        from segstudio.gui.main_window import MainWindow
        w = MainWindow()
        w.show()
        w.open_path(Path(sys.argv[1]))
        app.processEvents()
        print(json.dumps([len(w.services.extension_docks), "torchvision" in sys.modules]))
        w.close()
    """, str(sample_project_ro), env_extra={"HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "cfg")})
    assert r.returncode == 0, r.stderr
    n_docks, torchvision_loaded = json.loads(r.stdout.strip().splitlines()[-1])
    assert n_docks >= 3          # the extensions' docks (training, review, ...) were built
    assert torchvision_loaded is False
