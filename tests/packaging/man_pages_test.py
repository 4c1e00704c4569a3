#!/usr/bin/python3
"""The man pages cannot drift silently from the programs and the docs.

Fails when
- a subcommand (at any depth) or an option that `caravan --help` lists is
  not in docs/man/caravan.1;
- an option of `caravand --help` is not in docs/man/caravand.8;
- a key of docs/config.md (caravand.toml tables and roster.toml) is not in
  its section of docs/man/caravand.toml.5;
- a key of docs/policy.md's tables is not in docs/man/caravan-policy.5;
- a page does not render cleanly (groff -ww, when groff is installed);
- a page's .TH line names another version than the CMake project's
  (--version; the pages are installed as written, so a release bump must
  touch them).

Usage: man_pages_test.py --caravan BIN --caravand BIN --repo DIR
                         [--version X.Y.Z]
"""
import argparse
import os
import re
import shutil
import subprocess
import sys

failures = []


def fail(msg):
    failures.append(msg)


def roff_text(path):
    """The page's text with font escapes and \\- removed, for searching."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    text = re.sub(r"\\f[BIRP]", "", text)
    text = re.sub(r"\\f\(\w\w", "", text)
    text = text.replace("\\-", "-").replace("\\e", "\\").replace("\\&", "")
    return text


def help_of(binary, words):
    out = subprocess.run([binary, *words, "--help"], capture_output=True,
                         text=True, timeout=30)
    if out.returncode != 0:
        raise SystemExit(f"{binary} {' '.join(words)} --help exited "
                         f"{out.returncode}: {out.stderr}")
    return out.stdout


def subcommands_of(text):
    """Subcommands listed by one CLI11 help text, in order."""
    subcommands = []
    section = None
    for line in text.splitlines():
        if re.match(r"^\S.*:$", line):
            section = line[:-1]
            continue
        if section == "Subcommands":
            m = re.match(r"^  (\S+)", line)
            if m and m.group(1) not in subcommands:
                subcommands.append(m.group(1))
    return subcommands


def option_names(text):
    """Long options named at the start of each option line of a help text."""
    names = set()
    section = None
    for line in text.splitlines():
        if re.match(r"^\S.*:$", line):
            section = line[:-1]
            continue
        if section == "Options":
            m = re.match(r"^  (\S+)", line)
            if m:
                for name in m.group(1).split(","):
                    if name.startswith("--"):
                        names.add(name)
    return names


def check_caravan(binary, page):
    text = roff_text(page)
    seen = 0

    def walk(words):
        nonlocal seen
        help_text = help_of(binary, words)
        subs = subcommands_of(help_text)
        for opt in sorted(option_names(help_text)):
            seen += 1
            if not re.search(re.escape(opt) + r"(?![a-z0-9-])", text):
                fail(f"caravan.1: option {opt} of 'caravan {' '.join(words)}' "
                     "is not mentioned")
        for sub in subs:
            path = words + [sub]
            seen += 1
            # Written as in the synopsis lines: "caravan peers add".
            if "caravan " + " ".join(path) not in text:
                fail(f"caravan.1: subcommand 'caravan {' '.join(path)}' is "
                     "not mentioned")
            walk(path)

    walk([])
    if seen < 40:  # a broken help parser must not pass by finding nothing
        fail(f"caravan --help: only {seen} subcommands and options found")


def check_caravand(binary, page):
    text = roff_text(page)
    names = option_names(help_of(binary, []))
    if len(names) < 5:
        fail(f"caravand --help: only {len(names)} options found")
    for opt in sorted(names):
        if not re.search(re.escape(opt) + r"(?![a-z0-9-])", text):
            fail(f"caravand.8: option {opt} is not mentioned")


def config_keys(md_path):
    """{section: [keys]} of docs/config.md's key tables; roster.toml's
    table under 'roster.toml'."""
    keys = {}
    section = None
    with open(md_path, encoding="utf-8") as f:
        for line in f:
            m = re.match(r"^###? `?(\[[a-z_]+\])`?", line)
            if m:
                section = m.group(1)
                continue
            if line.startswith("## roster.toml"):
                section = "roster.toml"
                continue
            if line.startswith("## "):
                section = None
                continue
            m = re.match(r"^\| `([a-z_]+)` \|", line)
            if m and section:
                keys.setdefault(section, []).append(m.group(1))
    return keys


def check_config(md_path, page):
    text = roff_text(page)
    keys = config_keys(md_path)
    total = sum(len(v) for v in keys.values())
    if total < 50:
        fail(f"{md_path}: only {total} keys found; the parser is broken")
    # Split the page into its .SS / .SH sections.
    sections = {}
    current = None
    for line in text.splitlines():
        m = re.match(r'^\.S[SH] "?([^"]*)"?', line)
        if m:
            current = m.group(1).split(" ")[0]
            sections[current] = ""
            continue
        if current:
            sections[current] += line + "\n"
    for section, names in keys.items():
        heading = "ROSTER.TOML" if section == "roster.toml" else section
        body = sections.get(heading)
        if body is None:
            fail(f"caravand.toml.5: no section {heading} (docs/config.md has "
                 f"{len(names)} keys in it)")
            continue
        for name in names:
            if not re.search(r"^" + re.escape(name) + r" \(", body, re.M):
                fail(f"caravand.toml.5: key {section} {name} of docs/config.md "
                     "is not described")


def check_policy(md_path, page):
    text = roff_text(page)
    names = set()
    with open(md_path, encoding="utf-8") as f:
        for line in f:
            m = re.match(r"^\| `([a-z_]+)` \| (bool|TLP|\[|int|duration|`none)",
                         line)
            if m:
                names.add(m.group(1))
    if len(names) < 15:
        fail(f"{md_path}: only {len(names)} policy keys found")
    for name in sorted(names):
        if not re.search(r"^" + re.escape(name) + r" \(", text, re.M):
            fail(f"caravan-policy.5: policy key {name} is not described")


def check_renders(pages):
    groff = shutil.which("groff")
    if groff is None:
        print("note: groff not installed, rendering not checked")
        return
    for page in pages:
        out = subprocess.run([groff, "-man", "-Tutf8", "-ww", "-z", page],
                             capture_output=True, text=True, timeout=30)
        if out.returncode != 0 or out.stderr.strip():
            fail(f"{page}: groff warns: {out.stderr.strip()}")


def check_versions(pages, version):
    """Each page's .TH footer says "caravan VERSION"."""
    for page in pages:
        with open(page, encoding="utf-8") as f:
            th = [l for l in f if l.startswith(".TH ")]
        if len(th) != 1:
            fail(f"{page}: {len(th)} .TH lines, expected one")
            continue
        m = re.search(r'"caravan ([^"]+)"', th[0])
        if not m:
            fail(f"{page}: .TH line names no \"caravan VERSION\": {th[0].strip()}")
        elif m.group(1) != version:
            fail(f"{page}: .TH says caravan {m.group(1)}, the project is "
                 f"{version} (CMakeLists.txt project(VERSION)): update the page")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--caravan", required=True)
    ap.add_argument("--caravand", required=True)
    ap.add_argument("--repo", required=True)
    ap.add_argument("--version", default="")
    a = ap.parse_args()
    man = os.path.join(a.repo, "docs", "man")
    check_caravan(a.caravan, os.path.join(man, "caravan.1"))
    check_caravand(a.caravand, os.path.join(man, "caravand.8"))
    check_config(os.path.join(a.repo, "docs", "config.md"),
                 os.path.join(man, "caravand.toml.5"))
    check_policy(os.path.join(a.repo, "docs", "policy.md"),
                 os.path.join(man, "caravan-policy.5"))
    pages = [os.path.join(man, p) for p in
             ("caravan.1", "caravand.8", "caravand.toml.5", "caravan-policy.5")]
    check_renders(pages)
    if a.version:
        check_versions(pages, a.version)
    for f in failures:
        print("FAIL:", f)
    if failures:
        return 1
    print("ok: man pages cover every subcommand, option and key")
    return 0


if __name__ == "__main__":
    sys.exit(main())
