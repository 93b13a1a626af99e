"""Label set (labels.txt), VOC palette, mask IO conventions."""
from __future__ import annotations

import re

import numpy as np
import pytest
from PIL import Image

from segstudio.core.annotation import (
    LabelSet,
    UnknownLabelError,
    label_to_color,
    read_label_mask,
    voc_palette,
    write_label_png,
)
from segstudio.core.errors import ConfigError, MaskError


def test_voc_palette_known_colours():
    p = voc_palette()
    assert p.shape == (256, 3) and p.dtype == np.uint8
    assert p[:4].tolist() == [[0, 0, 0], [128, 0, 0], [0, 128, 0], [128, 128, 0]]
    assert p[15].tolist() == [192, 128, 128] and p[255].tolist() == [224, 224, 192]
    assert voc_palette(5).tolist() == p[:5].tolist()


@pytest.mark.parametrize(
    "text,names,ignore",
    [
        ("__ignore__\n_background_\na\nb\n", ["_background_", "a", "b"], True),
        ("_background_\na\n", ["_background_", "a"], False),
        ("a\n\nb\n", ["_background_", "a", "b"], False),
        ("__ignore__\na\n", ["_background_", "a"], True),
        ("\ufeff_background_\r\nlesion\r\n", ["_background_", "lesion"], False),
        ("background\nlesion\n", ["_background_", "lesion"], False),  # classes.txt: line i = id i
        ("__ignore__\nBG\nlesion\n", ["_background_", "lesion"], True),
    ],
)
def test_label_file_forms(tmp_path, text, names, ignore):
    (tmp_path / "labels.txt").write_text(text, encoding="utf-8", newline="")
    ls = LabelSet.from_file(tmp_path / "labels.txt")
    assert ls.names == names and ls.has_ignore == ignore and ls.num_classes == len(names)
    ls.to_file(tmp_path / "out.txt")
    assert LabelSet.from_file(tmp_path / "out.txt") == ls


@pytest.mark.parametrize(
    "text,reason",
    [("a\na\n", "duplicate label(s): a"), ("a\n_background_\n", "_background_ must come first"),
     ("a\n__ignore__\n", "__ignore__ must be the first line")],
)
def test_bad_label_files(tmp_path, text, reason):
    (tmp_path / "labels.txt").write_text(text)
    with pytest.raises(ConfigError, match=re.escape(reason)) as info:
        LabelSet.from_file(tmp_path / "labels.txt")
    assert str(info.value).startswith(str(tmp_path / "labels.txt"))
    with pytest.raises(ConfigError, match="not found"):
        LabelSet.from_file(tmp_path / "missing.txt")


def test_ids_are_stable_and_ignore_is_minus_one():
    ls = LabelSet.from_names(["__ignore__", "_background_", "lesion", "cyst"])
    assert ls.id_of("lesion") == 1 and ls.id_of("cyst") == 2 and ls.id_of("__ignore__") == -1
    assert ls.label_name_to_value == {"__ignore__": -1, "_background_": 0, "lesion": 1, "cyst": 2}
    with pytest.raises(UnknownLabelError, match="unknown label 'polyp'; known labels: _background_, lesion, cyst"):
        ls.id_of("polyp")
    with pytest.raises(KeyError):
        ls.id_of("polyp")
    assert ls.add("polyp") == 3 and ls.add("lesion") == 1 and ls.id_of("polyp") == 3
    assert ls.colors().tolist() == voc_palette(4).tolist()
    assert "polyp" in ls and "nope" not in ls
    # from names (e.g. gathered from JSON files) a class called "background" is an ordinary class
    assert LabelSet.from_names(["background", "lesion"]).names == ["_background_", "background", "lesion"]


def test_write_label_png_is_like_lblsave(tmp_path):
    lbl = np.array([[0, 1, 2], [-1, 3, 0]], dtype=np.int32)
    write_label_png(tmp_path / "m.png", lbl)
    with Image.open(tmp_path / "m.png") as im:
        assert im.mode == "P"
        assert np.asarray(im).tolist() == [[0, 1, 2], [255, 3, 0]]
        assert np.array(im.getpalette(), np.uint8).reshape(-1, 3).tolist() == voc_palette().tolist()
    assert read_label_mask(tmp_path / "m.png", 4).tolist() == lbl.tolist()
    with pytest.raises(MaskError, match=r"do not fit a palette PNG"):
        write_label_png(tmp_path / "x.png", np.array([[300]]))


def test_palette_mask_out_of_range(tmp_path):
    write_label_png(tmp_path / "m.png", np.array([[0, 5, 7]]))
    with pytest.raises(MaskError, match=r"m.png: mask palette index\(s\) 5, 7 outside the 3 classes"):
        read_label_mask(tmp_path / "m.png", 3)


def test_grayscale_binary_255_is_foreground_only_for_two_classes(tmp_path):
    Image.fromarray(np.array([[0, 255], [255, 0]], np.uint8)).save(tmp_path / "g.png")
    assert read_label_mask(tmp_path / "g.png", 2).tolist() == [[0, 1], [1, 0]]
    with pytest.raises(MaskError, match=r"g.png: mask value\(s\) 255 outside the 3 classes"):
        read_label_mask(tmp_path / "g.png", 3)
    Image.fromarray(np.array([[0, 1], [2, 0]], np.uint8)).save(tmp_path / "ids.png")
    assert read_label_mask(tmp_path / "ids.png", 3).tolist() == [[0, 1], [2, 0]]
    Image.fromarray(np.array([[0, 1], [255, 0]], np.uint8)).save(tmp_path / "mixed.png")
    with pytest.raises(MaskError, match="255"):
        read_label_mask(tmp_path / "mixed.png", 2)


def test_16bit_and_bilevel_masks(tmp_path):
    Image.fromarray(np.array([[0, 2], [1, 0]], np.uint16)).save(tmp_path / "g16.png")
    assert read_label_mask(tmp_path / "g16.png", 3).tolist() == [[0, 2], [1, 0]]
    Image.fromarray(np.array([[0, 1000]], np.uint16)).save(tmp_path / "big.png")
    with pytest.raises(MaskError, match="1000"):
        read_label_mask(tmp_path / "big.png", 3)
    Image.fromarray(np.array([[True, False]])).save(tmp_path / "b.png")
    assert read_label_mask(tmp_path / "b.png", 2).tolist() == [[1, 0]]


def test_rgb_voc_colours_map_back(tmp_path):
    lbl = np.array([[0, 1, 2], [-1, 2, 1]])
    Image.fromarray(label_to_color(lbl)).save(tmp_path / "c.png")
    assert read_label_mask(tmp_path / "c.png", 3).tolist() == lbl.tolist()
    rgb = label_to_color(lbl)
    rgb[0, 0] = (1, 2, 3)
    Image.fromarray(rgb).save(tmp_path / "bad.png")
    with pytest.raises(MaskError, match=r"bad.png: colour\(s\) \(1, 2, 3\) are not VOC palette colours"):
        read_label_mask(tmp_path / "bad.png", 3)
    grey = np.stack([np.array([[0, 255]], np.uint8)] * 3, -1)
    Image.fromarray(grey).save(tmp_path / "grey.png")
    assert read_label_mask(tmp_path / "grey.png", 2).tolist() == [[0, 1]]


def test_mask_size_and_unreadable(tmp_path):
    write_label_png(tmp_path / "m.png", np.zeros((4, 5), int))
    assert read_label_mask(tmp_path / "m.png", 2, expected_size=(4, 5)).shape == (4, 5)
    with pytest.raises(MaskError, match=r"mask size 5x4 differs from the image's 6x4"):
        read_label_mask(tmp_path / "m.png", 2, expected_size=(4, 6))
    (tmp_path / "x.png").write_bytes(b"nope")
    with pytest.raises(MaskError, match="x.png: unreadable mask"):
        read_label_mask(tmp_path / "x.png", 2)
    with pytest.raises(MaskError, match="not found"):
        read_label_mask(tmp_path / "none.png", 2)


def test_label_to_color():
    c = label_to_color(np.array([[0, 1, -1]]))
    assert c.shape == (1, 3, 3) and c[0].tolist() == [[0, 0, 0], [128, 0, 0], [224, 224, 192]]


def _png_chunks(data: bytes):
    import struct
    import zlib

    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, out = 8, []
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + n]
        (crc,) = struct.unpack(">I", data[pos + 8 + n : pos + 12 + n])
        assert crc == zlib.crc32(kind + body) & 0xFFFFFFFF
        out.append((kind, body))
        pos += 12 + n
    return out


@pytest.mark.parametrize("shape,band", [((5, 7), None), ((600, 500), (200, 260)), ((600, 500), (0, 1)),
                                        ((600, 500), (599, 600)), ((3, 70000), (1, 2)), ((300, 300), (0, 300)),
                                        ((1, 1), (0, 1))])
def test_label_png_bytes_is_a_strictly_valid_png(shape, band):
    """Chunks and CRCs, and a zlib stream that zlib itself inflates with its adler32 check, to exactly the
    unfiltered rows (the zero rows outside the labelled band come from cached deflate blocks)."""
    import zlib

    from segstudio.core.annotation import label_png_bytes

    rng = np.random.default_rng(1)
    label = np.zeros(shape, np.int64)
    if band:
        label[band[0] : band[1]] = rng.integers(-1, 5, (band[1] - band[0], shape[1]))
    chunks = _png_chunks(label_png_bytes(label))
    assert [k for k, _ in chunks] == [b"IHDR", b"PLTE", b"IDAT", b"IEND"]
    rows = zlib.decompress(chunks[2][1])
    expected = np.zeros((shape[0], shape[1] + 1), np.uint8)
    expected[:, 1:] = np.where(label < 0, 255, label)
    assert rows == expected.tobytes()
