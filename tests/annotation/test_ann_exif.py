"""EXIF orientation: applied to image files as labelme 6.3.1 does (checked against it), not to imageData."""
from __future__ import annotations

import base64
import json
import subprocess

import numpy as np
import pytest
from PIL import Image

from ann_helpers import doc, shape, write_json
from segstudio.core.annotation import annotation_image, load_annotation, load_image, probe_image_size
from segstudio.core.errors import AnnotationError

W, H = 48, 32


def _raw_image() -> np.ndarray:
    """A 48x32 image with a red block at the top-left and a blue one at the bottom-left (orientation marks)."""
    a = np.full((H, W, 3), 128, np.uint8)
    a[:8, :12] = (255, 0, 0)
    a[-8:, :12] = (0, 0, 255)
    return a


def _save(path, orientation: int, fmt: str = "JPEG"):
    exif = Image.Exif()
    exif[0x0112] = orientation
    kw = {"quality": 95} if fmt == "JPEG" else {}
    Image.fromarray(_raw_image()).save(path, format=fmt, exif=exif.tobytes(), **kw)
    return path


@pytest.mark.parametrize("orientation", range(1, 9))
def test_orientation_sizes_and_json_check(tmp_path, orientation):
    img = _save(tmp_path / "o.jpg", orientation)
    rotated = orientation >= 5
    exp = (W, H) if rotated else (H, W)
    assert probe_image_size(img) == exp
    assert load_image(img).shape == (*exp, 3)
    ok = write_json(tmp_path / "o.json", doc([shape()], image_path="o.jpg", height=exp[0], width=exp[1]))
    assert load_annotation(ok).image_height == exp[0]
    if rotated:  # the stored (unrotated) size is now wrong
        bad = write_json(tmp_path / "b.json", doc([shape()], image_path="o.jpg", height=H, width=W))
        with pytest.raises(AnnotationError, match="differs"):
            load_annotation(bad)


def test_orientation_6_moves_the_marks(tmp_path):
    img = load_image(_save(tmp_path / "o.jpg", 6))  # rotate 90 degrees clockwise to display
    assert img.shape == (W, H, 3)
    assert img[2, -2, 0] > 200 and img[2, -2, 2] < 60  # red (was top-left) is now top-right
    assert img[2, 2, 2] > 200  # blue (was bottom-left) is now top-left


@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_tiff_is_oriented_once_by_pillow(tmp_path, orientation):
    """Pillow's TIFF plugin orients TIFFs itself (size on open, pixels on load): header size and pixels
    agree with the same file saved as JPEG, i.e. the rotation is applied exactly once."""
    tif = load_image(_save(tmp_path / "o.tif", orientation, "TIFF"))
    jpg = load_image(_save(tmp_path / "o.jpg", orientation))
    assert probe_image_size(tmp_path / "o.tif") == tif.shape[:2] == jpg.shape[:2]
    assert np.abs(tif.astype(int) - jpg.astype(int)).mean() < 4  # same marks, up to JPEG loss


def test_embedded_image_data_is_not_rotated(tmp_path):
    raw = _save(tmp_path / "o.jpg", 6).read_bytes()
    (tmp_path / "o.jpg").unlink()
    d = doc([shape()], image_path="o.jpg", height=H, width=W, imageData=base64.b64encode(raw).decode())
    ann = load_annotation(write_json(tmp_path / "e.json", d))
    assert annotation_image(ann, tmp_path / "e.json").shape == (H, W, 3)


def test_png_exif_orientation(tmp_path):
    img = _save(tmp_path / "o.png", 8, "PNG")
    assert probe_image_size(img) == (W, H)
    assert load_image(img).shape == (W, H, 3)


def _png_exif_after_pixels(path, orientation: int):
    """A PNG whose eXIf chunk comes after the pixel data (allowed by the PNG spec; PIL's lazy open does
    not see it)."""
    from png_helpers import move_exif_last

    move_exif_last(_save(path, orientation, "PNG"))
    return path


def test_png_exif_after_pixel_data(tmp_path):
    img = _png_exif_after_pixels(tmp_path / "late.png", 6)
    assert probe_image_size(img) == (W, H)  # found by walking the chunk headers, without decoding
    assert load_image(img).shape == (W, H, 3)  # decoding finds it too, as in labelme
    ok = write_json(tmp_path / "o.json", doc([shape()], image_path="late.png", height=W, width=H))
    assert (load_annotation(ok).image_height, load_annotation(ok).image_width) == (W, H)
    bad = write_json(tmp_path / "b.json", doc([shape()], image_path="late.png", height=H, width=W))
    with pytest.raises(AnnotationError, match="differs"):
        load_annotation(bad)


def _png_raw_profile_exif(path, orientation: int):
    """A PNG carrying EXIF the ImageMagick way: a "Raw profile type exif" text chunk."""
    import binascii

    from PIL import PngImagePlugin

    exif = Image.Exif()
    exif[0x0112] = orientation
    raw = b"Exif\x00\x00" + exif.tobytes()
    info = PngImagePlugin.PngInfo()
    info.add_text("Raw profile type exif", f"\nexif\n{len(raw):8d}\n{binascii.hexlify(raw).decode()}\n")
    Image.fromarray(_raw_image()).save(path, pnginfo=info)
    return path


def test_png_raw_profile_exif(tmp_path):
    img = _png_raw_profile_exif(tmp_path / "raw.png", 8)
    assert probe_image_size(img) == (W, H) and load_image(img).shape == (W, H, 3)


LABELME_SCRIPT = """
import json, sys
import numpy as np
from labelme._label_file import read_image_file
from labelme import utils
out = {}
for f in sys.argv[1:]:
    arr = utils.img_data_to_arr(read_image_file(f))
    np.save(f + ".npy", arr)
    out[f] = list(arr.shape)
print(json.dumps(out))
"""


def test_matches_labelme_read_image_file(tmp_path, labelme_python):
    files = [str(_save(tmp_path / f"o{o}.jpg", o)) for o in range(1, 9)]
    files += [str(_save(tmp_path / f"p{o}.png", o, "PNG")) for o in (3, 6)]
    files.append(str(_png_exif_after_pixels(tmp_path / "late.png", 6)))
    files.append(str(_png_raw_profile_exif(tmp_path / "raw.png", 8)))
    r = subprocess.run([str(labelme_python), "-c", LABELME_SCRIPT, *files], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    shapes = json.loads(r.stdout.strip().splitlines()[-1])
    for f in files:
        ours = load_image(f)
        ref = np.load(f + ".npy")[..., :3]
        assert list(ours.shape) == shapes[f][:2] + [3], f
        # labelme re-encodes a rotated image as JPEG q95: compare with a tolerance
        assert np.abs(ours.astype(int) - ref.astype(int)).mean() < 4, f
