#!/usr/bin/python3
"""Writes a CSV (type,value,tlp,confidence,tags) of N indicators for the
streaming round trip: the real values of the shared test data first
(IPv4, domains, SHA-256, URLs with a scheme, CVEs), then synthetic domains
and IPv4 addresses up to N. Deterministic: the same N gives the same file.

usage: stream_values.py TESTDATA_REAL_DIR N
"""
import os
import sys

TLPS = ["clear", "green", "amber", "amber+strict", "red"]
TAGS = ["stream;c2", "phish", ""]


def real(directory):
    for name, kind in [("ipv4.txt", "ipv4"), ("domains.txt", "domain"),
                       ("hashes.txt", "sha256"), ("urls.txt", "url"),
                       ("cves.txt", "cve")]:
        with open(os.path.join(directory, name), encoding="utf-8") as f:
            for line in f:
                v = line.strip()
                if not v or v.startswith("#"):
                    continue
                if kind == "url" and "://" not in v:
                    continue
                if kind == "sha256" and len(v) != 64:
                    continue
                yield kind, v


def synthetic():
    i = 0
    while True:
        if i % 2:
            yield "domain", "h%d.stream%d.example" % (i, i % 89)
        else:
            a = (i * 2654435761) % (223 << 24) + (1 << 24)
            yield "ipv4", "%d.%d.%d.%d" % (a >> 24, (a >> 16) & 255,
                                           (a >> 8) & 255, a & 255)
        i += 1


def main():
    directory, n = sys.argv[1], int(sys.argv[2])
    out = sys.stdout
    out.write("type,value,tlp,confidence,tags\n")
    seen = set()
    k = 0

    def source():
        yield from real(directory)
        yield from synthetic()

    for kind, value in source():
        if k >= n:
            break
        if value.lower() in seen:
            continue
        seen.add(value.lower())
        out.write('%s,"%s",%s,%d,%s\n' % (kind, value.replace('"', '""'),
                                          TLPS[k % 5], (k * 7) % 101,
                                          TAGS[k % 3]))
        k += 1


if __name__ == "__main__":
    main()
