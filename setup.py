"""Build step of the wheel: the top-level resources/ folder becomes the package data segstudio/resources/.

Everything else is declared in pyproject.toml.  The installed app finds the folder with
importlib.resources (segstudio/assets.py); a source checkout uses resources/ in place.
"""
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent


class BuildPyWithResources(build_py):
    def run(self):
        super().run()
        src = ROOT / "resources"
        if not src.is_dir():  # building from an sdist that lacks it would ship an app without icons
            raise SystemExit(f"{src}: missing; cannot build segstudio without its resources")
        dst = Path(self.build_lib) / "segstudio" / "resources"
        shutil.rmtree(dst, ignore_errors=True)
        shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))


setup(cmdclass={"build_py": BuildPyWithResources})
