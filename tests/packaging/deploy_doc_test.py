#!/usr/bin/python3
"""Walks docs/deploy.md as written, so the document cannot rot.

Every fenced ```sh block of the document runs, in order, as an unprivileged
operator in a fresh login (runuser), with real `sudo` and `sudoedit`, against
a staging root: `cmake --install` goes to DESTDIR=ROOT and the document's
absolute paths (/etc/caravan, /var/lib/caravan, /run/caravan,
/usr/share/doc/caravan, /root, /tmp/restore) are rewritten into ROOT. Only
what needs systemd as PID 1 is replaced, by the table SUBSTITUTIONS below:
`systemctl start/stop/reload` of caravand by a foreground caravand run as
the caravan user; `systemctl status`, `journalctl` and the analysis of the
installed unit are skipped and listed. A line that needs systemd and has no
rule fails the test, so a new one must be thought about.

After the blocks that change the system, the result is checked: stripped
binaries and `--version`, owners and modes of the directories and files,
the daemon answering the operator, the backup archive, a restore that
verifies, an uninstall that leaves nothing.

Needs root (to make the operator, its sudoers entry and the caravan system
user, which stays like a package's would), sudo, runuser and sqlite3; exits
77 (skipped) without them.

Usage: deploy_doc_test.py --build DIR --repo DIR
"""
import argparse
import os
import pwd
import grp
import re
import secrets
import shutil
import socket
import stat
import subprocess
import sys
import tempfile

SKIP = 77
# A valid identity key text (of a throwaway node; its private key is gone).
MEMBER_KEY = "caravan:EsuFwcdRr0s7eTXWrS0psEgPA-9qAwesB_Cs54k8dls"
REROOTED = ("etc/caravan", "var/lib/caravan", "run/caravan",
            "usr/share/doc/caravan", "root", "tmp/restore")

failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL:", msg, flush=True)


# (regex on one logical line, replacement or None to skip the line or
# SKIP_BLOCK to skip its whole block, why). Applied in order; the first
# match wins. {ROOT}, {BUILD}, {OP} are filled in.
SKIP_BLOCK = object()
SUBSTITUTIONS = [
    (r"^sudo apt-get install \./caravan_", SKIP_BLOCK,
     "installs the .deb on this machine: scripts/package-check does that"),
    (r"^scripts/setup\b", None, "the tree under test is already set up"),
    (r"^cmake -S \. -B build\b", None, "the tree under test is configured"),
    (r"^cmake --build build\b", None, "the tree under test is built"),
    (r"^git pull && cmake --build build\b", None,
     "the tree under test is built"),
    (r"^sudo cmake --install build (.*)$",
     r"sudo env DESTDIR={ROOT} cmake --install {BUILD} \1 >/dev/null", ""),
    (r"^sudo systemd-sysusers && sudo systemd-tmpfiles --create$",
     "sudo systemd-sysusers {ROOT}/usr/lib/sysusers.d/caravan.conf && "
     "sudo cp /etc/passwd /etc/group {ROOT}/etc/ && "
     "sudo systemd-tmpfiles --root={ROOT} --create", ""),
    # sysusers.d on the host (the users the staged files are chowned to),
    # copied into ROOT where systemd-tmpfiles --root looks them up.
    (r"^sudo systemd-sysusers$",
     "sudo systemd-sysusers {ROOT}/usr/lib/sysusers.d/caravan.conf && "
     "sudo mkdir -p {ROOT}/etc && sudo cp /etc/passwd /etc/group {ROOT}/etc/",
     ""),
    (r"^sudo systemd-tmpfiles --create$",
     "sudo systemd-tmpfiles --root={ROOT} --create", ""),
    (r"^sudo systemctl enable --now caravand$", "caravand_start", ""),
    (r"^sudo systemctl start caravand$", "caravand_start", ""),
    (r"^sudo systemctl stop caravand$", "caravand_stop", ""),
    (r"^sudo systemctl restart caravand$", "caravand_stop && caravand_start",
     ""),
    (r"^sudo systemctl reload caravand$", "caravand_reload", ""),
    (r"^sudo systemctl disable --now caravand$", "caravand_stop", ""),
    (r"^sudo systemctl daemon-reload\b", None, "needs systemd as PID 1"),
    (r"^systemctl status caravand\b", None, "needs systemd as PID 1"),
    (r"^journalctl\b", None, "needs journald"),
    (r"^systemd-analyze security caravand\.service\b", None,
     "the installed unit needs a running systemd (CI verifies it offline)"),
    (r"^sudo apt-get install sqlite3\b", "command -v sqlite3 >/dev/null",
     ""),
    # The manifest lists the installed paths without DESTDIR: staged under
    # ROOT here (never the host's /usr).
    (r"^sudo xargs rm -f < build/install_manifest\.txt$",
     "sudo sed 's|^|{ROOT}|' {BUILD}/install_manifest.txt | sudo xargs rm -f",
     ""),
]


def reroot(line, root, build, op):
    for path in REROOTED:
        line = re.sub(r"(?<![\w/.$-])/" + re.escape(path) + r"(?=[/\s'\"]|$)",
                      root + "/" + path, line)
    line = re.sub(r"-C / ", f"-C {root} ", line)
    line = re.sub(r"\balice\b", op, line)
    line = line.replace("caravan:...", MEMBER_KEY)
    line = re.sub(r"^day=\d{4}-\d\d-\d\d$", "day=$(date +%F)", line)
    return line


def blocks(md_path):
    """[(first line number, [logical lines])] of the ```sh blocks."""
    out, current, start, pending = [], None, 0, ""
    with open(md_path, encoding="utf-8") as f:
        for n, raw in enumerate(f, 1):
            line = raw.rstrip("\n")
            if current is None:
                if line.strip() == "```sh":
                    current, start = [], n + 1
                continue
            if line.strip() == "```":
                out.append((start, current))
                current = None
                continue
            if line.endswith("\\"):
                pending += line[:-1] + " "
                continue
            current.append(pending + line)
            pending = ""
    return out


def translate(lines, root, build, op):
    """The block as the test runs it, and the skipped lines with why."""
    script, skipped = [], []
    for line in lines:
        text = line.strip()
        # Comments stay; the rest has its trailing comment cut for matching.
        if not text or text.startswith("#"):
            script.append(line)
            continue
        command = re.sub(r"\s+#[^'\"]*$", "", text)
        for pattern, replacement, why in SUBSTITUTIONS:
            if re.search(pattern, command):
                if replacement is SKIP_BLOCK:
                    return [], [("the whole block", why)]
                if replacement is None:
                    skipped.append((command, why))
                    command = ": skipped"
                else:
                    command = re.sub(pattern, replacement.format(
                        ROOT=root, BUILD=build, OP=op), command)
                break
        else:
            if re.search(r"\b(systemctl|journalctl)\b", command):
                fail(f"no substitution for a line that needs systemd: {text}")
                command = "false"
            # Never onto this machine's own /usr.
            if "cmake --install" in command:
                fail(f"no substitution for an install outside DESTDIR: {text}")
                command = "false"
        script.append(reroot(command, root, build, op))
    return script, skipped


PREAMBLE = r'''
set -euo pipefail
# What systemd would do with caravand.service, in the foreground: run as
# the caravan user with the packaged config; sudo's pid in caravand.pid.
caravand_pid() { pgrep -P "$(cat "$WORK/caravand.pid")" caravand; }
caravand_start() {
  sudo -u caravan caravand --config "$CARAVAN_CONFIG" >>"$WORK/caravand.log" 2>&1 &
  echo $! >"$WORK/caravand.pid"
  for _ in $(seq 200); do
    caravan status >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "caravand did not answer within 20 s:" >&2
  cat "$WORK/caravand.log" >&2
  return 1
}
caravand_stop() {
  local pid
  pid=$(caravand_pid) || return 0
  sudo kill -TERM "$pid"
  for _ in $(seq 300); do
    [ -d "/proc/$pid" ] || return 0
    sleep 0.1
  done
  echo "caravand did not stop within 30 s" >&2
  return 1
}
caravand_reload() { sudo kill -HUP "$(caravand_pid)"; sleep 0.5; caravan status >/dev/null; }
'''


class Walk:
    def __init__(self, repo, build):
        self.repo, self.build = repo, build
        self.op = "cvdoc" + secrets.token_hex(3)
        self.root = tempfile.mkdtemp(prefix="cvdeploy-")
        self.work = tempfile.mkdtemp(prefix="cvdeploy-work-")
        self.sudoers = f"/etc/sudoers.d/caravan-deploy-test-{self.op}"
        os.chmod(self.root, 0o755)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]

    def setup(self):
        subprocess.run(["useradd", "--no-create-home", "--home-dir", self.work,
                        "--shell", "/bin/bash", self.op], check=True)
        shutil.chown(self.work, self.op, self.op)
        paths = (f"{self.root}/usr/sbin:{self.root}/usr/bin:"
                 "/usr/sbin:/usr/bin:/sbin:/bin")
        rules = (f'Defaults:{self.op} secure_path="{paths}"\n'
                 f'Defaults:{self.op} env_keep += "CARAVAN_CONFIG"\n'
                 f"Defaults:{self.op} !use_pty, !lecture\n"
                 f"{self.op} ALL=(ALL:ALL) NOPASSWD: ALL\n")
        tmp = self.sudoers + ".tmp"
        with open(tmp, "w") as f:
            f.write(rules)
        os.chmod(tmp, 0o440)
        subprocess.run(["visudo", "-cqf", tmp], check=True)
        # sudo ignores files in sudoers.d whose name has a dot.
        os.rename(tmp, self.sudoers)
        for d, mode in (("root", 0o700), ("tmp", 0o1777)):
            os.makedirs(os.path.join(self.root, d), exist_ok=True)
            os.chmod(os.path.join(self.root, d), mode)
        # The operator's edit of the example config (sudoedit runs it on a
        # copy): this node's name and country, and, for the staging root
        # only, its paths and a free port.
        editor = os.path.join(self.work, "edit-config")
        with open(editor, "w") as f:
            f.write("#!/bin/sh\nset -e\n"
                    "sed -i -e 's/^name = \"CERT-EXAMPLE\"/name = \"CERT-UZ\"/' "
                    "-e 's/^country = \"XX\"/country = \"UZ\"/' "
                    f"-e 's#\"/var/lib/caravan#\"{self.root}/var/lib/caravan#g' "
                    f"-e 's#\"/run/caravan#\"{self.root}/run/caravan#g' "
                    f"-e 's#\"/etc/caravan#\"{self.root}/etc/caravan#g' "
                    f"-e 's/^listen = \"\\[::\\]:7420\"/listen = "
                    f"\"127.0.0.1:{self.port}\"/' \"$1\"\n")
        os.chmod(editor, 0o755)
        self.env = {
            "HOME": self.work, "USER": self.op, "LANG": "C.UTF-8",
            "PATH": (f"{self.root}/usr/bin:{self.root}/usr/sbin:"
                     "/usr/bin:/bin:/usr/sbin:/sbin"),
            "CARAVAN_CONFIG": f"{self.root}/etc/caravan/caravand.toml",
            "SUDO_EDITOR": editor, "WORK": self.work,
        }
        self.readable_repo()

    def readable_repo(self):
        """The operator works in the repo as a reader of the doc would in
        their checkout. A checkout below a 0700 directory (/root, mktemp -d)
        is closed to that user: then it works in a copy of the tracked
        files, made its own (the build tree is only used through sudo)."""
        probe = subprocess.run(
            ["runuser", "-u", self.op, "--", "test", "-r",
             os.path.join(self.repo, "docs", "deploy.md")], check=False)
        if probe.returncode == 0:
            return
        listed = subprocess.run(["git", "-C", self.repo, "ls-files", "-z"],
                                capture_output=True, check=True).stdout
        copy = os.path.join(self.work, "src")
        for name in filter(None, listed.decode().split("\0")):
            source = os.path.join(self.repo, name)
            if not os.path.isfile(source):
                continue
            target = os.path.join(copy, name)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            shutil.copy2(source, target)
        subprocess.run(["chown", "-R", f"{self.op}:{self.op}", copy],
                       check=True)
        print(f"the operator cannot read {self.repo}: walking a copy of its "
              f"tracked files in {copy}")
        self.repo = copy

    def as_operator(self, script, check=True):
        return subprocess.run(
            ["runuser", "-u", self.op, "--", "env", "-i",
             *[f"{k}={v}" for k, v in self.env.items()],
             "bash", "-c", PREAMBLE + script],
            cwd=self.repo, capture_output=True, text=True, timeout=600,
            check=False)

    def cleanup(self):
        pidfile = os.path.join(self.work, "caravand.pid")
        if os.path.exists(pidfile):
            with open(pidfile) as f:
                sudo_pid = f.read().strip()
            kids = subprocess.run(["pgrep", "-P", sudo_pid, "caravand"],
                                  capture_output=True, text=True).stdout.split()
            for pid in kids:
                subprocess.run(["kill", "-TERM", pid])
        if os.path.exists(self.sudoers):
            os.remove(self.sudoers)
        subprocess.run(["userdel", self.op], capture_output=True)
        shutil.rmtree(self.root, ignore_errors=True)
        shutil.rmtree(self.work, ignore_errors=True)


def mode_owner(path):
    st = os.lstat(path)
    return (stat.S_IMODE(st.st_mode), pwd.getpwuid(st.st_uid).pw_name,
            grp.getgrgid(st.st_gid).gr_name)


def expect_mode(path, mode, user, group):
    if not os.path.exists(path):
        fail(f"{path} is missing")
        return
    got = mode_owner(path)
    if got != (mode, user, group):
        fail(f"{path}: {oct(got[0])} {got[1]}:{got[2]}, wanted {oct(mode)} "
             f"{user}:{group}")


def check_installed(w):
    r = w.root
    for binary in ("usr/bin/caravan", "usr/sbin/caravand",
                   "usr/sbin/caravan-taxii-passwd"):
        path = os.path.join(r, binary)
        if not os.path.exists(path):
            fail(f"not installed: /{binary}")
            continue
        sections = subprocess.run(["readelf", "-S", "-W", path],
                                  capture_output=True, text=True).stdout
        for s in (".debug_info", ".symtab"):
            if s in sections:
                fail(f"/{binary} is not stripped (has {s})")
    for name in ("caravan", "caravand"):
        binary = os.path.join(r, "usr/bin" if name == "caravan" else "usr/sbin",
                              name)
        out = subprocess.run([binary, "--version"], capture_output=True,
                             text=True)
        if out.returncode != 0 or not re.fullmatch(
                name + r" \d+\.\d+\.\d+ \(git [0-9a-zA-Z._-]+, [A-Za-z+]+\)\n",
                out.stdout):
            fail(f"{name} --version: exit {out.returncode}, {out.stdout!r}")
    for f in ("usr/share/man/man1/caravan.1.gz", "usr/share/man/man8/caravand.8.gz",
              "usr/share/man/man5/caravand.toml.5.gz",
              "usr/share/man/man5/caravan-policy.5.gz",
              "usr/share/bash-completion/completions/caravan",
              "usr/share/zsh/vendor-completions/_caravan",
              "usr/lib/systemd/system/caravand.service",
              "usr/lib/sysusers.d/caravan.conf", "usr/lib/tmpfiles.d/caravan.conf",
              "usr/share/doc/caravan/examples/caravand.toml",
              "usr/share/doc/caravan/examples/policies/default.toml",
              "usr/share/doc/caravan/deploy.md"):
        if not os.path.exists(os.path.join(r, f)):
            fail(f"not installed: /{f}")
    # The example config as shipped must not start a node (placeholder XX).
    out = subprocess.run(
        [os.path.join(r, "usr/sbin/caravand"), "--config",
         os.path.join(r, "usr/share/doc/caravan/examples/caravand.toml")],
        capture_output=True, text=True, timeout=60)
    if out.returncode != 78 or "'XX' is the example config's placeholder" \
            not in out.stderr:
        fail(f"the unedited example config: exit {out.returncode}, "
             f"{out.stderr!r}; wanted 78 and the placeholder error")


def check_directories(w):
    try:
        pwd.getpwnam("caravan")
        grp.getgrnam("caravan")
    except KeyError:
        fail("no caravan user or group after systemd-sysusers")
        return
    expect_mode(f"{w.root}/var/lib/caravan", 0o700, "caravan", "caravan")
    expect_mode(f"{w.root}/etc/caravan", 0o750, "root", "caravan")
    expect_mode(f"{w.root}/etc/caravan/policies", 0o750, "root", "caravan")
    expect_mode(f"{w.root}/run/caravan", 0o750, "caravan", "caravan")


def check_node(w):
    for key in ("identity.key", "link.key"):
        expect_mode(f"{w.root}/var/lib/caravan/{key}", 0o600, "caravan",
                    "caravan")


def check_config(w):
    config = f"{w.root}/etc/caravan/caravand.toml"
    expect_mode(config, 0o640, "root", "caravan")
    expect_mode(f"{w.root}/etc/caravan/policies/default.toml", 0o640, "root",
                "caravan")
    if os.path.exists(f"{w.root}/var/lib/caravan/policies"):
        fail("/var/lib/caravan/policies is still there")
    with open(config) as f:
        if 'country = "UZ"' not in f.read():
            fail("sudoedit did not set the country")
    # The operator is not in the caravan group yet (the next block adds
    # it): the CLI must say why it cannot read the config (issue 15: it
    # said "no such file").
    out = w.as_operator("caravan status")
    if out.returncode == 0 or "permission denied" not in out.stderr.lower() or \
            "no such file" in out.stderr:
        fail(f"caravan status outside the caravan group: exit "
             f"{out.returncode}, {out.stderr!r}; wanted 'permission denied'")


def check_running(w):
    out = w.as_operator("caravan --json status")
    if out.returncode != 0 or "CERT-UZ" not in out.stdout:
        fail(f"caravan status as the operator: exit {out.returncode}, "
             f"{out.stdout!r} {out.stderr!r}")


def check_peer(w):
    out = w.as_operator("caravan --json peers list")
    if "CERT-KZ" not in out.stdout:
        fail(f"peers list after peers add: {out.stdout!r} {out.stderr!r}")
    # The installed bash completion offers the new member's name.
    completion = f"{w.root}/usr/share/bash-completion/completions/caravan"
    out = w.as_operator(
        f"source {completion}; COMP_WORDS=(caravan peers remove CERT-K); "
        "COMP_CWORD=3; _caravan; echo \"${COMPREPLY[*]}\"")
    if out.stdout.strip() != "CERT-KZ":
        fail(f"installed completion of 'peers remove CERT-K': "
             f"{out.stdout!r} {out.stderr!r}")


def check_backup(w):
    day = subprocess.run(["date", "+%F"], capture_output=True,
                         text=True).stdout.strip()
    archive = f"{w.root}/root/caravan-{day}.tgz"
    if not os.path.exists(archive):
        fail(f"no backup archive {archive}")
        return
    names = subprocess.run(["tar", "-tzf", archive], capture_output=True,
                           text=True).stdout.split()
    for want in (f"var/lib/caravan/backup/caravan-{day}.db",
                 f"root/caravan-keys-{day}.bak", "etc/caravan/caravand.toml"):
        if want not in names:
            fail(f"backup archive lacks {want}: {names}")
    # The keys travel encrypted only (caravan key export --encrypted).
    for raw in ("var/lib/caravan/identity.key", "var/lib/caravan/link.key"):
        if raw in names:
            fail(f"backup archive holds the raw key file {raw}")
    keys = f"{w.root}/root/caravan-keys-{day}.bak"
    if os.path.exists(keys):
        if stat.S_IMODE(os.stat(keys).st_mode) != 0o600:
            fail(f"{keys} has mode {oct(os.stat(keys).st_mode)}, expected 0600")
        with open(keys, "rb") as f:
            if not f.read(16) == b"caravan-keys-bak":
                fail(f"{keys} is not a caravan key backup")


def check_restored(w):
    if os.path.exists(f"{w.root}/tmp/restore"):
        fail("/tmp/restore is left behind after the restore")


def check_uninstalled(w):
    for f in ("usr/bin/caravan", "usr/sbin/caravand",
              "usr/lib/systemd/system/caravand.service", "var/lib/caravan",
              "etc/caravan"):
        if os.path.exists(os.path.join(w.root, f)):
            fail(f"/{f} is still there after the uninstall")


# (a line the block contains, the check run after it). Each check runs
# after the first block that matches.
CHECKS = [
    ("sudo cmake --install build", check_installed),
    ("sudo systemd-tmpfiles --create", check_directories),
    ("caravan init /var/lib/caravan", check_node),
    ("sudoedit /etc/caravan/caravand.toml", check_config),
    ("sudo systemctl enable --now caravand", check_running),
    ("caravan peers add", check_peer),
    ("tar -C / -czf", check_backup),
    ("sudo mkdir -m 0700 /tmp/restore", check_restored),
    ("sudo xargs rm -f < build/install_manifest.txt", check_uninstalled),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--repo", required=True)
    a = ap.parse_args()
    if os.geteuid() != 0:
        print("skipped: needs root (makes an operator and the caravan user)")
        return SKIP
    for tool in ("sudo", "sudoedit", "runuser", "useradd", "systemd-sysusers",
                 "systemd-tmpfiles", "sqlite3", "readelf", "visudo"):
        if shutil.which(tool) is None:
            print(f"skipped: {tool} is not installed (scripts/setup)")
            return SKIP
    doc = os.path.join(a.repo, "docs", "deploy.md")
    walk = Walk(os.path.abspath(a.repo), os.path.abspath(a.build))
    done_checks = set()
    try:
        walk.setup()
        all_blocks = blocks(doc)
        if len(all_blocks) < 10:
            fail(f"only {len(all_blocks)} sh blocks in {doc}")
        for start, lines in all_blocks:
            script, skipped = translate(lines, walk.root, walk.build, walk.op)
            for command, why in skipped:
                print(f"deploy.md:{start}: skipped '{command}': {why}")
            out = walk.as_operator("\n".join(script))
            if out.returncode != 0:
                fail(f"deploy.md:{start}: the block failed (exit "
                     f"{out.returncode}):\n" + "\n".join(lines) +
                     f"\n--- as run:\n" + "\n".join(script) +
                     f"\n--- stdout:\n{out.stdout}--- stderr:\n{out.stderr}")
                break
            print(f"deploy.md:{start}: ok ({len(lines)} lines)", flush=True)
            text = "\n".join(lines)
            for i, (needle, check) in enumerate(CHECKS):
                if i not in done_checks and needle in text:
                    done_checks.add(i)
                    check(walk)
        if not failures:
            for i, (needle, _) in enumerate(CHECKS):
                if i not in done_checks:
                    fail(f"no block of deploy.md contains '{needle}': its "
                         "check did not run")
    finally:
        walk.cleanup()
    if failures:
        return 1
    print("ok: docs/deploy.md runs as written")
    return 0


if __name__ == "__main__":
    sys.exit(main())
