#!/usr/bin/env python3
"""Keeps README.md and docs/*.md true to the code: doc_test.py SOURCE_DIR BINARY_DIR

1. Every fenced block whose info string is `sh runnable` runs (bash -euo pipefail, in the
   source directory, the built binaries first on PATH) and must exit 0.
2. Every command line of the suite's binaries in any fenced block or `code` span
   (`ioam-collector --db x`, `build/release/probe/ioam-probe ...`) uses only flags that the
   binary's --help lists.
3. Every repository path the documents name in code (`scripts/demo.sh`, `deploy/systemd/
   ioam-*.service`) exists.
Blocks that need root, a daemon or minutes (the demo, the test suite) are not run: mark only
what a test machine can run in seconds.
"""
import glob
import os
import re
import subprocess
import sys

SRC, BIN = sys.argv[1], sys.argv[2]
# name -> (path, "cli" or "hand"), for every binary registered with ioam_binary().
BINARIES = {}
with open(os.path.join(BIN, "binaries.txt"), encoding="utf-8") as listing:
    for entry in listing:
        name, path, kind = entry.split()
        BINARIES[name] = (path, kind)
TOP_DIRS = ("bench/", "collector/", "common/", "deploy/", "docker/", "docs/", "exporter/",
            "fuzz/", "kernel-patches/", "man/", "packaging/", "probe/", "scripts/", "tests/",
            "tools/")
FENCE = re.compile(r"^```(.*)$")

failures = []
help_cache = {}


def flags_of(binary):
    if binary not in help_cache:
        out = subprocess.run([BINARIES[binary][0], "--help"], capture_output=True, text=True, check=True).stdout
        # --help-man is hidden from --help (common/version adds it to every CLI11 binary).
        help_cache[binary] = set(re.findall(r"--[a-z][a-z0-9-]*", out)) | {"--help-man"}
    return help_cache[binary]


def blocks(text):
    """(info string, first line number, lines) of each fenced block."""
    info, start, body = None, 0, []
    for n, line in enumerate(text.splitlines(), 1):
        m = FENCE.match(line)
        if m and info is None:
            info, start, body = m.group(1).strip(), n + 1, []
        elif m:
            yield info, start, body
            info = None
        elif info is not None:
            body.append(line)


def check_flags(doc, lineno, command):
    for binary in BINARIES:
        # The binary as a word: bare, or at the end of a build path.
        for m in re.finditer(r"(?:^|[\s/`])" + re.escape(binary) + r"(?=\s|$)", command):
            rest = re.split(r"[|;&`]|\s#", command[m.end():])[0]
            if BINARIES[binary][1] == "hand":
                continue  # hand-parsed words (ip-route-like), no CLI11 flags to check
            for flag in re.findall(r"(?:^|\s)(--[a-z][a-z0-9-]*)", rest):
                if flag not in flags_of(binary):
                    failures.append(f"{doc}:{lineno}: {binary} has no {flag}: {command.strip()}")


def check_paths(doc, lineno, text):
    for word in re.findall(r"[A-Za-z0-9_./*-]+", text):
        word = word.rstrip(".")
        if word.startswith(TOP_DIRS) and not glob.glob(os.path.join(SRC, word)):
            failures.append(f"{doc}:{lineno}: {word} does not exist")


def run_block(doc, lineno, body):
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join(
        sorted({os.path.dirname(path) for path, _ in BINARIES.values()}) + [env["PATH"]])
    script = "\n".join(body)
    try:
        r = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=SRC, env=env,
                           capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        failures.append(f"{doc}:{lineno}: runnable block did not finish in 120 s")
        return
    if r.returncode != 0:
        failures.append(f"{doc}:{lineno}: runnable block exited {r.returncode}:\n"
                        f"{script}\n--- stderr:\n{r.stderr[-2000:]}")


runnable = 0
docs = ["README.md"] + sorted(os.path.relpath(p, SRC)
                              for p in glob.glob(os.path.join(SRC, "docs", "*.md")))
for doc in docs:
    text = open(os.path.join(SRC, doc), encoding="utf-8").read()
    for info, start, body in blocks(text):
        if info.split()[:1] in (["json"], ["toml"]):
            continue
        for i, line in enumerate(body):
            check_flags(doc, start + i, line.removeprefix("$ "))
            check_paths(doc, start + i, line)
        if info == "sh runnable":
            runnable += 1
            run_block(doc, start, body)
    in_block = False
    for n, line in enumerate(text.splitlines(), 1):
        if FENCE.match(line):
            in_block = not in_block
            continue
        if not in_block:
            for span in re.findall(r"`([^`]+)`", line):
                check_flags(doc, n, span)
                check_paths(doc, n, span)

for f in failures:
    print("FAIL:", f, file=sys.stderr)
print(f"{len(docs)} documents, {runnable} runnable blocks run, "
      f"{len(help_cache)} binaries' flags checked, {len(failures)} failures")
if runnable == 0:
    print("FAIL: no `sh runnable` block found: the extraction is broken", file=sys.stderr)
    sys.exit(1)
sys.exit(1 if failures else 0)
