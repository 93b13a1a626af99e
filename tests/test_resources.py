"""resources/: the Linux desktop files are valid and agree with each other, the app icon's PNGs are what the
SVG renders to, the About texts load (Qt-free through segstudio.assets)."""
from __future__ import annotations

import configparser
import shutil
import subprocess
import xml.etree.ElementTree as ET

import pytest
from PIL import Image

from segstudio.assets import license_text, resource_path, resources_root, texts

APP_ID = "io.github.segstudio.SegStudio"


def test_desktop_file_and_metainfo_agree():
    desktop = configparser.ConfigParser(interpolation=None)
    desktop.optionxform = str
    desktop.read(resource_path("linux", f"{APP_ID}.desktop"))
    entry = desktop["Desktop Entry"]
    assert entry["Exec"].split()[0] == "segstudio" and entry["Icon"] == APP_ID and entry["Type"] == "Application"
    meta = ET.parse(resource_path("linux", f"{APP_ID}.metainfo.xml")).getroot()
    assert meta.findtext("id") == APP_ID
    assert meta.find("launchable").text == f"{APP_ID}.desktop"
    assert meta.findtext("project_license") == "MIT"
    from segstudio import __version__

    assert meta.find("releases/release").get("version") == __version__


@pytest.mark.parametrize("tool,args,name", [
    ("desktop-file-validate", [], f"{APP_ID}.desktop"),
    ("appstreamcli", ["validate", "--no-net"], f"{APP_ID}.metainfo.xml"),
])
def test_linux_files_pass_their_validators(tool, args, name):
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} not installed (apt-get install desktop-file-utils appstream)")
    r = subprocess.run([tool, *args, str(resource_path("linux", name))], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_app_icon_pngs_and_ico():
    for size in (16, 24, 32, 48, 64, 128, 256, 512):
        with Image.open(resource_path("icons", "app", f"segstudio-{size}.png")) as im:
            assert im.size == (size, size) and im.mode == "RGBA"
            assert im.getpixel((size // 2, size // 2))[3] == 255  # drawn, not transparent, in the middle
    with Image.open(resource_path("icons", "segstudio.ico")) as ico:
        assert {(16, 16), (32, 32), (48, 48), (256, 256)} <= set(ico.info["sizes"])


def test_texts_and_licence():
    t = texts()
    assert t["about"]["name"] == "segstudio" and "{project}" in t["window"]["title_with_project"]
    assert "Permission is hereby granted" in license_text()
    assert (resources_root() / "icons" / "actions").is_dir()
