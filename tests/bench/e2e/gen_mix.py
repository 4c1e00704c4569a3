#!/usr/bin/python3
"""Writes N distinct indicator values, reproducibly (seeded), as a feed of
a national CERT looks: IPv4 addresses, domains, URLs and file hashes, the
real ones of ../shared/testdata/real mixed in among synthetic ones of the
same shapes. One value a line (the `caravan submit --file` txt format, type
inferred by the daemon), split into CHUNKS files so a benchmark can load
the store in steps and sample it as it grows.

usage: gen_mix.py N SEED REAL_DIR OUT_DIR CHUNKS [--ipv4-only]

Writes OUT_DIR/chunk-0000.txt ... (together N lines, no value twice) and
OUT_DIR/sample-0000.txt ...: about 1 in 50 values of each chunk (at most
2000), the stored values a query benchmark looks up after that chunk.
Same N, SEED and real files: byte-identical output. Memory stays bounded
at 10M: synthetic values are distinct by construction (the row number is
part of each), only the real values (~240k) are held in sets.
"""
import hashlib
import os
import random
import sys

# Shares of a mixed feed (MISP/OTX exports are dominated by addresses and
# domains, then hashes; URLs are fewer).
WEIGHTS = [("ipv4", 0.45), ("domain", 0.33), ("url", 0.08), ("hash", 0.14)]
TLDS = ["com", "net", "org", "info", "xyz", "top", "ru", "cn", "io", "kz",
        "uz", "online", "site", "club", "shop"]
WORDS = ["secure", "login", "update", "cloud", "mail", "verify", "account",
         "cdn", "portal", "service", "pay", "bank", "support", "web", "app",
         "data", "sync", "auth", "files", "micro", "office", "track", "news"]
PATHS = ["index.php", "gate.php", "admin/login", "wp-content/up.bin",
         "download", "invoice.zip", "panel/auth", "api/v1/beacon"]


def read_real(real_dir):
    def lines(name):
        path = os.path.join(real_dir, name)
        with open(path, encoding="utf-8") as f:
            return [l.strip() for l in f if l.strip() and not l.startswith("#")]
    return {"ipv4": lines("ipv4.txt"), "domain": lines("domains.txt"),
            "url": lines("urls.txt"), "hash": lines("hashes.txt")}


def base36(i):
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        i, r = divmod(i, 36)
        out = digits[r] + out
        if i == 0:
            return out


SKIPPED = [1 << 31]  # next index for a row whose own address was skipped


def synth_ipv4(i, salt, taken):
    # A multiplicative step modulo 2^32 is a permutation (odd multiplier),
    # so distinct indexes map to distinct addresses. Rows use their row
    # number (< 2^31); a row whose address is not public or is a real one
    # takes the next index from 2^31 up, which no row number reaches.
    k = i
    while True:
        a = (k * 2654435761 + salt) & 0xFFFFFFFF
        s = "%d.%d.%d.%d" % (a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255)
        first = a >> 24
        if (first not in (0, 10, 127) and 1 <= first <= 223 and
                not (first == 192 and (a >> 16) & 255 == 168) and
                not (first == 172 and 16 <= (a >> 16) & 255 <= 31) and
                s not in taken):
            return s
        k = SKIPPED[0]
        SKIPPED[0] += 1


def synth_domain(i, rng):
    name = "%s%s-%s.%s" % (rng.choice(WORDS), rng.choice(WORDS), base36(i),
                           rng.choice(TLDS))
    return ("%s.%s" % (rng.choice(WORDS), name)) if rng.random() < 0.3 else name


def synth_url(i, rng):
    return "%s://%s/%s" % (rng.choice(["http", "https"]),
                           synth_domain(i, rng), rng.choice(PATHS))


def synth_hash(i, seed, rng):
    data = ("%d:%d" % (seed, i)).encode()
    pick = rng.random()
    if pick < 0.6:
        return hashlib.sha256(data).hexdigest()
    if pick < 0.8:
        return hashlib.sha1(data).hexdigest()
    return hashlib.md5(data).hexdigest()


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    if len(args) != 5:
        sys.exit(__doc__)
    n, seed, real_dir, out_dir, chunks = (int(args[0]), int(args[1]),
                                          args[2], args[3], int(args[4]))
    ipv4_only = "--ipv4-only" in sys.argv
    if n <= 0 or chunks <= 0 or chunks > n:
        sys.exit("gen_mix: need N > 0 and 0 < CHUNKS <= N")
    rng = random.Random(seed)
    real = read_real(real_dir)
    for vals in real.values():
        rng.shuffle(vals)
    weights = [("ipv4", 1.0)] if ipv4_only else WEIGHTS
    # Real values of a type are spread evenly over the rows of that type.
    share = {t: min(1.0, len(real[t]) / max(1.0, n * w)) for t, w in weights}
    taken_ipv4 = set(real["ipv4"])
    taken = set()  # real values written, against duplicates in the feeds
    next_real = {t: 0 for t, _ in weights}
    os.makedirs(out_dir, exist_ok=True)
    per_chunk = n // chunks
    row = 0
    for c in range(chunks):
        rows = per_chunk if c < chunks - 1 else n - per_chunk * (chunks - 1)
        sample_every = max(1, rows // 2000, 50 if rows >= 100 else 1)
        with open(os.path.join(out_dir, "chunk-%04d.txt" % c), "w") as out, \
             open(os.path.join(out_dir, "sample-%04d.txt" % c), "w") as smp:
            for k in range(rows):
                r = rng.random()
                t = weights[-1][0]
                for name, w in weights:
                    if r < w:
                        t = name
                        break
                    r -= w
                v = None
                if rng.random() < share[t]:
                    while next_real[t] < len(real[t]) and v is None:
                        cand = real[t][next_real[t]]
                        next_real[t] += 1
                        if cand not in taken:
                            taken.add(cand)
                            v = cand
                if v is None:
                    if t == "ipv4":
                        v = synth_ipv4(row, seed, taken_ipv4)
                    elif t == "domain":
                        v = synth_domain(row, rng)
                    elif t == "url":
                        v = synth_url(row, rng)
                    else:
                        v = synth_hash(row, seed, rng)
                out.write(v + "\n")
                if k % sample_every == 0:
                    smp.write(v + "\n")
                row += 1


if __name__ == "__main__":
    main()
