#!/usr/bin/python3
"""Exit 0 when PNG FILE has at least MIN distinct colours and MIN_INK % of
its pixels differ from the top-left (background) pixel; else print why and
exit 1. A blank or failed render is one colour. Decodes the PNG itself
(zlib, the five filters) so it needs nothing outside the standard library.
Usage: png_not_blank.py FILE [MIN_COLOURS] [MIN_INK_PERCENT]"""
import struct
import sys
import zlib


def pixels(path):
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(
                ">IIBBBBB", body)
            if depth != 8 or colour not in (2, 6) or interlace:
                raise ValueError("unsupported PNG (depth %d colour %d)" %
                                 (depth, colour))
            bpp = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * bpp
    prev = bytearray(stride)
    rows = []
    for y in range(height):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pred) & 255
        rows.append(bytes(line))
        prev = line
    return [bytes(r[x * bpp:x * bpp + 3]) for r in rows
            for x in range(width)]


def main():
    path = sys.argv[1]
    min_colours = int(sys.argv[2]) if len(sys.argv) > 2 else 8
    min_ink = float(sys.argv[3]) if len(sys.argv) > 3 else 1.0
    px = pixels(path)
    colours = len(set(px))
    ink = 100.0 * sum(1 for p in px if p != px[0]) / len(px)
    print("%s: %d pixels, %d colours, %.2f%% ink" % (path, len(px), colours,
                                                     ink))
    if colours < min_colours or ink < min_ink:
        print("blank: fewer than %d colours or %.2f%% ink" %
              (min_colours, min_ink))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
