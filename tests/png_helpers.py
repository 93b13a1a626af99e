"""PNG chunk surgery for the EXIF-orientation tests: an eXIf chunk may legally follow the pixel data."""
from __future__ import annotations

import struct
import zlib
from pathlib import Path

from PIL import Image


def chunks(data: bytes) -> list[bytes]:
    """The PNG's chunks (length + type + data + CRC each), after the 8-byte signature."""
    pos, out = 8, []
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos : pos + 4])
        out.append(data[pos : pos + 12 + n])
        pos += 12 + n
    return out


def move_exif_last(path: Path) -> None:
    """Rewrite the PNG at ``path`` with its (single) eXIf chunk just before IEND, after the pixels."""
    data = path.read_bytes()
    parts = chunks(data)
    exif = [c for c in parts if c[4:8] == b"eXIf"]
    rest = [c for c in parts if c[4:8] != b"eXIf"]
    assert len(exif) == 1, "expected one eXIf chunk"
    path.write_bytes(data[:8] + b"".join(rest[:-1]) + exif[0] + rest[-1])


def with_exif_last(png: bytes, orientation: int) -> bytes:
    """``png`` with a new eXIf chunk holding ``orientation`` just before IEND."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    payload = exif.tobytes()
    payload = payload[6:] if payload.startswith(b"Exif\0\0") else payload
    chunk = struct.pack(">I", len(payload)) + b"eXIf" + payload
    chunk += struct.pack(">I", zlib.crc32(b"eXIf" + payload) & 0xFFFFFFFF)
    iend = png.rindex(b"IEND") - 4
    return png[:iend] + chunk + png[iend:]
