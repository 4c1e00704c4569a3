#!/usr/bin/python3
"""Prints the result table of scale_bench.sh (markdown, to paste into
docs/performance.md): every target row of issue 17 with its measured value,
the baseline measured in the same run, their ratio, the target and
PASS/MISS; then what an operator can expect at 1M and 10M, computed (not
measured) from the per-record figures.

usage: scale_report.py RESULTS_ENV
"""
import csv
import os
import sys


def load(path):
    out = {}
    with open(path) as f:
        for line in f:
            key, sep, value = line.strip().partition("=")
            if sep:
                out[key] = value
    return out


def submit_rates(results_path):
    """(empty, at N) from scale.csv beside the results. Empty: the faster
    of the first two steps (one step is noisy on a shared machine, and
    neighbours only ever slow a step down). At N: the last four steps
    together, their rows over their time. The writer merges its key levels
    every 200k new rows and its middle level into the big one every 1.6M
    (StoreOptions::level0/level1_merge_rows), so single steps at N are
    fast or slow by whether they hold such a merge; four steps (2M rows at
    10M in 20 steps) hold a whole cycle of them."""
    path = os.path.join(os.path.dirname(os.path.abspath(results_path)),
                        "scale.csv")
    try:
        with open(path) as f:
            steps = [(int(row["stored"]), float(row["submit_rate"]))
                     for row in csv.DictReader(f)]
    except (OSError, KeyError, ValueError):
        return None, None
    if not steps:
        return None, None
    rows, seconds = 0, 0.0
    for i in range(max(0, len(steps) - 4), len(steps)):
        added = steps[i][0] - (steps[i - 1][0] if i > 0 else 0)
        if steps[i][1] <= 0:
            return None, None
        rows += added
        seconds += added / steps[i][1]
    at_n = rows / seconds if seconds > 0 else None
    return max(rate for _, rate in steps[:2]), at_n


def num(r, key):
    try:
        return float(r[key])
    except (KeyError, ValueError):
        return None


def fmt(x, unit=""):
    if x is None:
        return "n/a"
    if abs(x) >= 100:
        s = "{:,.0f}".format(x)
    elif abs(x) >= 10:
        s = "%.1f" % x
    else:
        s = "%.2f" % x
    return s + unit


def verdict(value, op, target):
    if value is None:
        return "n/a"
    ok = value >= target if op == ">=" else value <= target
    return "PASS" if ok else "MISS"


def ratio(a, b):
    return None if a is None or not b else a / b


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    r = load(sys.argv[1])
    n = num(r, "stored") or 0
    rows = []

    def row(measure, value, unit, baseline, op, target, target_text,
            judged=None):
        b_val, b_text = baseline
        rows.append((measure, fmt(value, unit),
                     "%s %s" % (fmt(b_val), b_text) if b_text else fmt(b_val),
                     fmt(ratio(value, b_val)), target_text,
                     verdict(judged if judged is not None else value, op,
                             target)))

    empty, at_n = submit_rates(sys.argv[1])
    if empty is None:
        empty = num(r, "submit_rate_empty")
        at_n = num(r, "submit_rate_at_n")
    raw1 = num(r, "raw_one_txn_rate")
    row("bulk submit, empty store (/s, faster of the first 2 steps)", empty,
        "", (raw1, "raw SQLite, first step's rows, 1 txn"), ">=", 0.6,
        "ratio >= 0.6", ratio(empty, raw1))
    row("bulk submit at N (/s, the last 4 steps together)", at_n, "",
        (empty, "empty-store rate"), ">=", 0.5, "ratio >= 0.5",
        ratio(at_n, empty))
    disk = (num(r, "disk_bytes") or 0) / n if n else None
    row("disk per indicator (B, node dir after checkpoint)", disk, "",
        (num(r, "record_bytes"), "avg record's own columns"), "<=", 500,
        "<= 500 B")
    for path, label in (("federation", 'reshare = "federation"'),
                        ("none", "no reshare key")):
        row("wire bytes per IPv4 record, catch-up, %s" % label,
            num(r, "wire_ipv4_%s_bytes_per_record" % path), "",
            (num(r, "record_bytes_ipv4"), "signed IPv4 record, alone"),
            "<=", 120, "<= 120 B")
    verify = num(r, "verify_rate")
    raw1000 = num(r, "raw_1000_txn_rate")
    for path, label in (("federation", 'reshare = "federation"'),
                        ("none", "no reshare key")):
        rate = num(r, "catchup_%s_rate" % path)
        row("one-link catch-up (/s), %s" % label, rate, "",
            (verify, "Ed25519 verify/s, 1 core; raw SQLite 1000/txn %s/s"
             % fmt(raw1000)), ">=", 60000, ">= 60,000/s")
        secs = num(r, "catchup_%s_seconds" % path)
        per_m = 1e6 / rate if rate else None
        rows.append(("catch-up time, %s records (1M computed), %s"
                     % (fmt(num(r, "catchup_%s_records" % path)), label),
                     "%s s (1M: %s s)" % (fmt(secs), fmt(per_m)), "", "",
                     "1M <= 30 s", verdict(per_m, "<=", 30)))
    ex99 = num(r, "exact_p99_us")
    ci99 = num(r, "cidr_p99_us")
    ex99_0 = num(r, "exact_p99_us_first")
    ci99_0 = num(r, "cidr_p99_us_first")
    row("exact-value query p99 at N (ms, daemon socket)",
        ex99 / 1000 if ex99 is not None else None, "",
        (ex99_0 / 1000 if ex99_0 is not None else None,
         "ms p99 after the first step"), "<=", 1, "<= 1 ms")
    row("CIDR /24 query p99 at N (ms, daemon socket)",
        ci99 / 1000 if ci99 is not None else None, "",
        (ci99_0 / 1000 if ci99_0 is not None else None,
         "ms p99 after the first step"), "<=", 5, "<= 5 ms")
    row("submit -> queryable at a peer, one hop, p99 (ms)",
        num(r, "hop_p99_ms"), "",
        (num(r, "hop_floor_p99_ms"), "ms p99 of the CLI calls alone"),
        "<=", 20, "<= 20 ms")
    rss = num(r, "rss_idle_kib")
    rss0 = num(r, "rss_empty_kib")
    row("RSS idle at N (MiB)", rss / 1024 if rss else None, "",
        (rss0 / 1024 if rss0 else None, "MiB idle on the empty store"),
        "<=", 64, "<= 64 MiB")
    row("TAXII paging %s objects, limit 1000 (/s)"
        % fmt(num(r, "taxii_objects")), num(r, "taxii_rate"), "",
        (num(r, "taxii_export_stix_rate"), "caravan export --format stix /s"),
        ">=", 50000, ">= 50,000/s")

    print("Scale N = %s requested, %s stored; seed %s; commit %s; %s; "
          "%s cores; load average %s at start, %s at end."
          % (r.get("scale"), fmt(n), r.get("seed"), r.get("commit"),
             r.get("date"), r.get("nproc"), r.get("load_start"),
             r.get("load_end")))
    print()
    print("| measure | measured | same-run baseline | ratio | target | result |")
    print("|---|---|---|---|---|---|")
    for cells in rows:
        print("| " + " | ".join(cells) + " |")
    print()
    print("Extra: exact p50 %s ms, CIDR /24 p50 %s ms; one hop p50 %s ms, "
          "without the CLI calls p50 %s / p99 %s ms; "
          "catch-up bytes per mixed record %s (federation) / %s (none); "
          "IPv4-only catch-up %s/s (federation) / %s/s (none)."
          % (fmt((num(r, "exact_p50_us") or 0) / 1000),
             fmt((num(r, "cidr_p50_us") or 0) / 1000),
             fmt(num(r, "hop_p50_ms")), fmt(num(r, "hop_net_p50_ms")),
             fmt(num(r, "hop_net_p99_ms")),
             fmt(num(r, "catchup_federation_bytes_per_record")),
             fmt(num(r, "catchup_none_bytes_per_record")),
             fmt(num(r, "wire_ipv4_federation_rate")),
             fmt(num(r, "wire_ipv4_none_rate"))))
    if num(r, "cidr_dense_p99_us"):
        print()
        print("Dense /24s (the %s networks holding 64 or more real IPv4 "
              "values of ../shared/testdata/real, whatever their share of "
              "the mix): p50 %s ms, p99 %s ms at N."
              % (fmt(num(r, "cidr_dense_networks")),
                 fmt(num(r, "cidr_dense_p50_us") / 1000),
                 fmt(num(r, "cidr_dense_p99_us") / 1000)))
    print()
    print("Computed from the per-record figures above (linear, not measured):")
    print()
    print("| store | disk | catch-up on 10 Mbit/s, federation / none "
          "(wire-bound) | catch-up CPU-bound, federation / none |")
    print("|---|---|---|---|")
    for count in (1e6, 1e7):
        wire = []
        cpu = []
        for path in ("federation", "none"):
            bpr = num(r, "catchup_%s_bytes_per_record" % path)
            rate = num(r, "catchup_%s_rate" % path)
            wire.append(fmt(bpr * count * 8 / 10e6 / 60, " min")
                        if bpr else "n/a")
            cpu.append(fmt(count / rate / 60, " min") if rate else "n/a")
        print("| %s | %s | %s | %s |"
              % ("1M" if count == 1e6 else "10M",
                 fmt(disk * count / 2**30, " GiB") if disk else "n/a",
                 " / ".join(wire), " / ".join(cpu)))


if __name__ == "__main__":
    main()
