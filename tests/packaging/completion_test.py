#!/usr/bin/python3
"""Shell completion (tools/completion/) against the real programs.

bash: sources caravan.bash in a clean bash and asks it to complete
- a few prefixes whose answers are fixed (subcommands, verbs, options,
  option values, caravand's options);
- every subcommand and every option `caravan --help` lists, at every depth,
  so a new command or option cannot miss its completion silently;
- peer names and countries, from a real caravand started here with one
  roster member (`caravan --config X peers remove C<TAB>` offers it,
  `policy explain --to K<TAB>` its country), and nothing, without hanging,
  when the daemon is stopped.
zsh (when installed): `zsh -n` on _caravan, and its helper that reads peer
names and countries from the node, run in zsh against the same daemon (a
whole zsh completion needs a terminal; not driven here).

Usage: completion_test.py --caravan BIN --caravand BIN --repo DIR
"""
import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

failures = []
# A valid identity key text (of a throwaway node; its private key is gone).
MEMBER_KEY = "caravan:EsuFwcdRr0s7eTXWrS0psEgPA-9qAwesB_Cs54k8dls"


def complete(script, words, env=None):
    """COMPREPLY of the completion function for `words` (the last word is
    the one being completed), sorted."""
    fn = "_caravand" if words[0] == "caravand" else "_caravan"
    quoted = " ".join("'" + w.replace("'", "'\\''") + "'" for w in words)
    driver = (f"source '{script}'\n"
              f"COMP_WORDS=({quoted}); COMP_CWORD=$((${{#COMP_WORDS[@]}} - 1))\n"
              f"{fn}\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"\n")
    out = subprocess.run(["bash", "--norc", "--noprofile", "-c", driver],
                         capture_output=True, text=True, timeout=20, env=env)
    if out.returncode != 0:
        failures.append(f"bash completion of {words} exited {out.returncode}: "
                        f"{out.stderr}")
    return sorted(w for w in out.stdout.split("\n") if w)


def expect(script, words, wanted, env=None, exact=False):
    got = complete(script, words, env)
    if (exact and got != sorted(wanted)) or (not exact and
                                             not set(wanted) <= set(got)):
        failures.append(f"completing {' '.join(words)!r}: wanted "
                        f"{'exactly ' if exact else ''}{sorted(wanted)}, "
                        f"got {got}")


def help_of(binary, words):
    return subprocess.run([binary, *words, "--help"], capture_output=True,
                          text=True, timeout=30, check=True).stdout


def listed(text, section):
    names, current = [], None
    for line in text.splitlines():
        if re.match(r"^\S.*:$", line):
            current = line[:-1]
            continue
        m = re.match(r"^  (\S+)", line)
        if m and current == section:
            names += [n for n in m.group(1).split(",") if n not in names]
    return names


def check_against_help(script, caravan):
    checked = 0

    def walk(words):
        nonlocal checked
        text = help_of(caravan, words)
        options = [o for o in listed(text, "Options") if o.startswith("--")
                   and o != "--help"]
        if words:
            got = complete(script, ["caravan", *words, "--"])
            for o in options:
                checked += 1
                if o not in got:
                    failures.append(f"'caravan {' '.join(words)} --<TAB>' "
                                    f"does not offer {o}")
        subs = listed(text, "Subcommands")
        if subs:
            got = complete(script, ["caravan", *words, ""])
            for s in subs:
                checked += 1
                if s not in got:
                    failures.append(f"'caravan {' '.join(words)} <TAB>' does "
                                    f"not offer {s}")
        for s in subs:
            walk(words + [s])

    walk([])
    if checked < 40:
        failures.append(f"only {checked} subcommands and options checked")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def check_zsh_peer_field(zsh_script, config, env):
    """The zsh helper that asks the node, run alone in zsh (a whole
    completion needs a terminal): names and countries of the peers."""
    zsh = shutil.which("zsh")
    if zsh is None:
        return
    with open(zsh_script, encoding="utf-8") as f:
        m = re.search(r"^_caravan_peer_field\(\) \{.*?^\}$", f.read(),
                      re.M | re.S)
    if m is None:
        failures.append("_caravan: no _caravan_peer_field function")
        return
    for field, wanted in (("name", "CERT-KZ"), ("country", "KZ")):
        out = subprocess.run(
            [zsh, "-f", "-c", m.group(0) + f"\n_caravan_config='{config}'\n"
             f"_caravan_peer_field {field}"],
            capture_output=True, text=True, timeout=20, env=env)
        if out.stdout.split() != [wanted]:
            failures.append(f"zsh _caravan_peer_field {field}: {out.stdout!r} "
                            f"{out.stderr!r}, wanted {wanted}")


def check_peer_names(script, caravan, caravand):
    with tempfile.TemporaryDirectory(prefix="cvcomp-") as tmp:
        node = os.path.join(tmp, "node")
        subprocess.run([caravan, "init", node, "--name", "CERT-UZ", "--country",
                        "UZ", "--peer-listen", f"127.0.0.1:{free_port()}"],
                       check=True, capture_output=True, timeout=60)
        config = os.path.join(node, "caravand.toml")
        log = open(os.path.join(tmp, "caravand.log"), "w")
        daemon = subprocess.Popen([caravand, "--config", config], stdout=log,
                                  stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 20
            while subprocess.run([caravan, "--config", config, "status"],
                                 capture_output=True).returncode != 0:
                if time.monotonic() > deadline or daemon.poll() is not None:
                    failures.append("caravand did not come up; log: " +
                                    open(log.name).read())
                    return
                time.sleep(0.1)
            subprocess.run([caravan, "--config", config, "peers", "add",
                            "CERT-KZ", "--country", "KZ", "--key", MEMBER_KEY],
                           check=True, capture_output=True, timeout=60)
            # caravan must be on PATH for the completion, as when installed.
            env = dict(os.environ,
                       PATH=os.path.dirname(os.path.abspath(caravan)) + ":" +
                       os.environ.get("PATH", "/usr/bin:/bin"))
            expect(script, ["caravan", "--config", config, "peers", "remove",
                            "CERT-K"], ["CERT-KZ"], env, exact=True)
            expect(script, ["caravan", "--config", config, "audit", "--peer",
                            ""], ["CERT-KZ"], env, exact=True)
            expect(script, ["caravan", "--config", config, "policy",
                            "explain", "--to", "K"], ["KZ"], env, exact=True)
            check_zsh_peer_field(os.path.join(os.path.dirname(script),
                                              "_caravan"), config, env)
        finally:
            daemon.terminate()
            daemon.wait(timeout=30)
            log.close()
        # Daemon stopped: no names, and no hang (complete() has a timeout).
        start = time.monotonic()
        expect(script, ["caravan", "--config", config, "peers", "remove", ""],
               [], env, exact=True)
        if time.monotonic() - start > 10:
            failures.append("peer completion with the daemon stopped took "
                            "over 10 s")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--caravan", required=True)
    ap.add_argument("--caravand", required=True)
    ap.add_argument("--repo", required=True)
    a = ap.parse_args()
    script = os.path.join(a.repo, "tools", "completion", "caravan.bash")

    expect(script, ["caravan", "st"], ["status"], exact=True)
    expect(script, ["caravan", "pe"], ["peers"], exact=True)
    expect(script, ["caravan", "peers", ""], ["add", "compromised", "list", "remove"],
           exact=True)
    expect(script, ["caravan", "--json", "po"], ["policy"], exact=True)
    expect(script, ["caravan", "submit", "--t"],
           ["--tag", "--timeout", "--tlp", "--type"], exact=True)
    expect(script, ["caravan", "submit", "ip"], ["ipv4", "ipv6"], exact=True)
    expect(script, ["caravan", "query", "--type", "d"], ["domain"], exact=True)
    expect(script, ["caravan", "export", "--format", ""],
           ["csv", "jsonl", "misp", "plain", "stix", "txt"], exact=True)
    expect(script, ["caravan", "submit", "--tlp", "amber"],
           ["amber", "amber+strict"], exact=True)
    expect(script, ["caravan", "policy", "explain", "--to", "KZ", "sha"],
           ["sha1", "sha256"], exact=True)
    expect(script, ["caravand", "--c"], ["--check-policy", "--config"],
           exact=True)
    check_against_help(script, a.caravan)
    check_peer_names(script, a.caravan, a.caravand)

    zsh = shutil.which("zsh")
    if zsh:
        out = subprocess.run([zsh, "-n", os.path.join(a.repo, "tools",
                                                      "completion", "_caravan")],
                             capture_output=True, text=True, timeout=20)
        if out.returncode != 0:
            failures.append(f"zsh -n _caravan: {out.stderr}")
    else:
        print("note: zsh not installed, _caravan not checked")

    for f in failures:
        print("FAIL:", f)
    if failures:
        return 1
    print("ok: bash completion offers every subcommand, option and peer")
    return 0


if __name__ == "__main__":
    sys.exit(main())
