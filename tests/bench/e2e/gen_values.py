#!/usr/bin/python3
"""Writes N distinct indicator values (3/4 IPv4 addresses, 1/4 domains) to
stdout, deterministically, for the query-latency benchmark's store.

usage: gen_values.py N
"""
import sys


def main():
    n = int(sys.argv[1])
    out = sys.stdout
    for i in range(n):
        if i % 4 == 3:
            out.write("host%d.bench%d.example\n" % (i, i % 97))
        else:
            # Spread addresses over 1.0.0.0 .. 223.x: a multiplicative
            # step keeps them distinct and not sequential.
            a = (i * 2654435761) % (223 << 24)
            a += 1 << 24
            out.write("%d.%d.%d.%d\n" % (a >> 24, (a >> 16) & 255,
                                          (a >> 8) & 255, a & 255))


if __name__ == "__main__":
    main()
