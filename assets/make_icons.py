#!/usr/bin/env python3
"""Draws Concord's icon (two overlapping rings on a calm teal tile) as RGBA PNGs.

The brand mark is geometric, so it is described here rather than in a binary
editor file: run `python3 assets/make_icons.py` to regenerate
src-tauri/icons/*.png. Standard library only (zlib + struct).
"""
import math
import struct
import zlib
from pathlib import Path

TILE = (31, 78, 95)       # deep teal
RING_A = (242, 246, 247)  # near white
RING_B = (126, 200, 190)  # soft green-teal
OUT = Path(__file__).resolve().parent.parent / "src-tauri" / "icons"


def coverage(x, y, size):
    """Returns RGBA for pixel centre (x, y) in a size x size icon."""
    u, v = x / size, y / size
    # Rounded square tile with 18% corner radius and a 4% margin.
    m, r = 0.04, 0.18
    cx = min(max(u, m + r), 1 - m - r)
    cy = min(max(v, m + r), 1 - m - r)
    if math.hypot(u - cx, v - cy) > r:
        return None
    colour = TILE
    for (ox, col) in ((0.39, RING_A), (0.61, RING_B)):
        d = math.hypot(u - ox, v - 0.5)
        if 0.15 <= d <= 0.22:
            colour = col
    return colour


def render(size, ss=4):
    rows = []
    for y in range(size):
        row = bytearray([0])
        for x in range(size):
            acc = [0, 0, 0, 0]
            for sy in range(ss):
                for sx in range(ss):
                    c = coverage(x + (sx + 0.5) / ss, y + (sy + 0.5) / ss, size)
                    if c:
                        acc[0] += c[0]; acc[1] += c[1]; acc[2] += c[2]; acc[3] += 255
            n = ss * ss
            a = acc[3] // n
            if a:
                k = acc[3] // 255
                row += bytes([acc[0] // k, acc[1] // k, acc[2] // k, a])
            else:
                row += bytes([0, 0, 0, 0])
        rows.append(bytes(row))
    raw = b"".join(rows)

    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    for name, size in (("32x32.png", 32), ("128x128.png", 128), ("128x128@2x.png", 256), ("icon.png", 512)):
        (OUT / name).write_bytes(render(size))
        print("wrote", OUT / name)
