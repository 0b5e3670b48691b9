#!/usr/bin/env python3
"""Draws the app and tray icons (stdlib only): a round badge whose colour and mark tell the state.
The marks differ in shape (a check, a clock, a cross), so the state reads without colour too.
Colours carry a light halo so they read on light and dark panels alike."""
import math
import struct
import zlib
from pathlib import Path

HERE = Path(__file__).parent

STATES = {
    # name: (fill, mark)
    "valid": ((46, 157, 79), "check"),
    "expiring": ((224, 146, 0), "clock"),
    "expired": ((200, 40, 40), "cross"),
}


def png(path, size, pixel):
    path.write_bytes(png_bytes(size, pixel))


def png_bytes(size, pixel):
    rows = bytearray()
    for y in range(size):
        rows.append(0)
        for x in range(size):
            rows.extend(pixel(x + 0.5, y + 0.5))
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(bytes(rows), 9)) + chunk(b"IEND", b"")


def seg_dist(px, py, ax, ay, bx, by):
    dx, dy = bx - ax, by - ay
    if dx == 0 and dy == 0:
        return math.hypot(px - ax, py - ay)
    t = max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)))
    return math.hypot(px - (ax + t * dx), py - (ay + t * dy))


def cover(d, edge):
    """Anti-aliased coverage of a shape whose signed distance is d (negative inside)."""
    return max(0.0, min(1.0, 0.5 - d / edge))


def badge(size, fill, mark):
    c = size / 2
    r = size * 0.40
    halo = size * 0.47
    w = size * 0.085
    segments = {
        "check": [(0.30, 0.52, 0.44, 0.66), (0.44, 0.66, 0.70, 0.36)],
        "clock": [(0.5, 0.5, 0.5, 0.36), (0.5, 0.5, 0.6, 0.56)],
        "cross": [(0.35, 0.35, 0.65, 0.65), (0.65, 0.35, 0.35, 0.65)],
    }[mark]
    # The clock's face: a ring around its hands.
    ring = 0.2 if mark == "clock" else None
    edge = max(1.0, size / 32)

    def pixel(x, y):
        d = math.hypot(x - c, y - c)
        a_halo = cover(d - halo, edge)
        a_disc = cover(d - r, edge)
        m = min(seg_dist(x / size, y / size, *s) for s in segments) * size - w / 2
        if ring is not None:
            m = min(m, abs(math.hypot(x - c, y - c) - ring * size) - w * 0.4)
        a_mark = cover(m, edge) * a_disc
        col = [255, 255, 255]
        col = [round(col[i] * (1 - a_disc) + fill[i] * a_disc) for i in range(3)]
        col = [round(col[i] * (1 - a_mark) + 255 * a_mark) for i in range(3)]
        return bytes(col + [round(255 * max(a_halo * 0.9, a_disc))])

    return pixel


def ico(path, pngs):
    """A Windows icon holding PNG images (valid since Windows Vista): what the Tauri bundler and
    tauri-build's resource file want on Windows. `pngs` maps size (at most 256) to PNG bytes."""
    header = struct.pack("<HHH", 0, 1, len(pngs))
    offset = len(header) + 16 * len(pngs)
    entries, blobs = b"", b""
    for size, data in sorted(pngs.items()):
        entries += struct.pack("<BBBBHHII", size % 256, size % 256, 0, 0, 1, 32, len(data), offset + len(blobs))
        blobs += data
    path.write_bytes(header + entries + blobs)


if __name__ == "__main__":
    for name, (fill, mark) in STATES.items():
        png(HERE / f"tray-{name}.png", 32, badge(32, fill, mark))
    for size, name in [(32, "32x32.png"), (128, "128x128.png"), (256, "128x128@2x.png"), (512, "icon.png")]:
        png(HERE / name, size, badge(size, (35, 47, 62), "check"))
    ico(HERE / "icon.ico", {size: png_bytes(size, badge(size, (35, 47, 62), "check")) for size in (16, 32, 48, 256)})
