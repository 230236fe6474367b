#!/usr/bin/env python3
"""Keeps README.md and docs/*.md true to the code: doc_test.py SOURCE_DIR BINARY_DIR

1. Every fenced block whose info string is `sh runnable` runs (bash -euo pipefail, in the
   source directory, the built binaries first on PATH) and must exit 0. In a `console
   runnable` block, each `$ command` line runs the same way and the lines up to the next
   `$ ` are its exact standard output. `text`, `json` and `toml` blocks are not commands.
   Every other block holds commands a CI machine cannot run in seconds: it must be in SKIPPED
   below, whose reasons are printed, and an entry that matches no block is an error.
2. Every command line of the suite's binaries in any fenced block or `code` span
   (`ioam-collector --db x`, `build/release/probe/ioam-probe ...`) uses only flags that the
   binary's --help lists.
3. Every repository path the documents name in code (`scripts/demo.sh`, `deploy/systemd/
   ioam-*.service`) exists.
4. Every key of a `toml` block (a configuration file) in a binary's document is one of that
   binary's flags (the config file and the command line share their keys).
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
NOT_COMMANDS = ("text", "json", "toml")
# The binary whose configuration file a document's `toml` blocks show.
CONFIG_OF = {"docs/collector.md": "ioam-collector", "docs/exporter.md": "ioam-exporter"}
# (document, first line of the block) -> why CI does not run it.
SKIPPED = {
    ("README.md", "apt-get install clickhouse-server && systemctl start clickhouse-server   # one server"):
        "root, systemd and ClickHouse servers on other hosts; ctest -L clickhouse starts real servers on loopback",
    ("docs/benchmarks.md", "build/dev/bench/store/ioam-store-bench write 1000000 clickhouse://127.0.0.1:8123/bench"):
        "a benchmark (a million records) against a running ClickHouse server",
    ("README.md", "ioam-query --db ./ioam.db --last 1h --stat segment                 # worst first"):
        "needs a collector's store with traffic; docs/collector.md's runnable block queries one",
    ("README.md", "bash scripts/demo.sh"):
        "root, five network namespaces, runs until stopped",
    ("README.md", "bash scripts/test.sh"):
        "the whole CI (about 20 min), which runs this test",
    ("README.md", "cmake -S . -B build/dev -G Ninja -DIOAM_WERROR=ON"):
        "full builds (minutes); scripts/test.sh builds the same way",
    ("README.md", "docker-compose -f docker/compose.yaml up -d --build        # collector, Prometheus, Grafana"):
        "a Docker engine and Docker Hub; tests/deploy checks the compose file, ctest -L container "
        "builds the images with podman",
    ("README.md", "cpack -G DEB --config build/dev/CPackConfig.cmake -B build/dev/packages"):
        "installs packages on the machine (root); ctest -L package installs them in a chroot",
    ("README.md", "install -m 644 deploy/systemd/ioam-*.service /etc/systemd/system/"):
        "root, writes /etc and starts services; tests/deploy verifies the units",
    ("docs/benchmarks.md", "cmake --build build/dev --target ioam-store-bench"):
        "a benchmark (minutes, a million records)",
    ("docs/benchmarks.md",
     "build/dev/bench/store/ioam-store-bench write 200000 'clickhouse://127.0.0.1:PORT/DB?compress=0|1'"):
        "a benchmark against a running ClickHouse server (PORT and DB are its own)",
    ("docs/benchmarks.md",
     'STORE=clickhouse NFCAPD=0 RATES="30000 35000 41000 45000 50000 55000 60000 70000" DURATION=5 \\'):
        "a benchmark (minutes of replay into a clickhouse-server the script starts)",
    ("docs/benchmarks.md",
     "build/dev/bench/store/ioam-store-bench summaries 10000000 sqlite:/tmp/10m.db"):
        "a benchmark (minutes, 10 M records)",
    ("docs/benchmarks.md", "cmake --build build/dev --target ioam-collector ioam-replay -j2"):
        "a benchmark (minutes of replay at up to 400 k records/s)",
    ("docs/collector.md",
     "ioam-collector                                  # UDP+TCP [::]:4739, HTTP 127.0.0.1:9555, ./ioam.db"):
        "daemons on fixed, non-loopback ports; the runnable block below starts one on loopback",
    ("docs/collector.md", "curl -s 127.0.0.1:9555/api/v1/records?namespace=123\\&node=42\\&limit=10"):
        "needs a collector on port 9555; the runnable block below asks one on a free port",
    ("docs/double-reallocation.md",
     "bash kernel-patches/qemu/run-realloc-test.sh                 # prints the table, exit 0 = all agree"):
        "boots Linux 6.1 in QEMU twice (minutes); scripts/test.sh runs it",
    ("docs/exporter.md",
     "ioam-exporter --collector udp://192.0.2.10:4739                 # one UDP collector"):
        "needs the kernel's IOAM6 netlink family and CAP_NET_ADMIN, and a collector",
    ("docs/exporter.md",
     "cmake --build build --target exporter_decode_test exporter_record_test exporter_collector_uri_test \\"):
        "builds and runs tests, as ctest does",
    ("docs/fuzzing.md", "bash scripts/fuzz.sh --smoke                 # CI: about 5 s per target"):
        "a clang libFuzzer build (minutes) and campaigns; scripts/test.sh runs the smoke",
}

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


def test_env():
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join(
        sorted({os.path.dirname(path) for path, _ in BINARIES.values()}) + [env["PATH"]])
    return env


def run_block(doc, lineno, body):
    script = "\n".join(body)
    try:
        r = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=SRC, env=test_env(),
                           capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        failures.append(f"{doc}:{lineno}: runnable block did not finish in 120 s")
        return
    if r.returncode != 0:
        failures.append(f"{doc}:{lineno}: runnable block exited {r.returncode}:\n"
                        f"{script}\n--- stderr:\n{r.stderr[-2000:]}")


def run_console(doc, lineno, body):
    """`$ command` lines, each followed by its exact output."""
    command, expected = None, []
    for line in body + ["$ "]:
        if line.startswith("$ "):
            if command:
                r = subprocess.run(["bash", "-euo", "pipefail", "-c", command], cwd=SRC,
                                   env=test_env(), capture_output=True, text=True, timeout=120)
                if r.returncode != 0 or r.stdout.splitlines() != expected:
                    failures.append(f"{doc}:{lineno}: `{command}` exited {r.returncode}, printed:\n"
                                    f"{r.stdout}--- the document shows:\n" + "\n".join(expected))
            command, expected = line[2:], []
        else:
            expected.append(line)


runnable = 0
skipped = []
docs = ["README.md"] + sorted(os.path.relpath(p, SRC)
                              for p in glob.glob(os.path.join(SRC, "docs", "*.md")))
for doc in docs:
    text = open(os.path.join(SRC, doc), encoding="utf-8").read()
    for info, start, body in blocks(text):
        if info.split()[:1] == ["toml"] and doc in CONFIG_OF:
            for i, line in enumerate(body):
                m = re.match(r"\s*([a-z][a-z0-9-]*)\s*=", line)
                if m and "--" + m.group(1) not in flags_of(CONFIG_OF[doc]):
                    failures.append(f"{doc}:{start + i}: {CONFIG_OF[doc]} has no key {m.group(1)}")
        if info.split()[:1] in (["json"], ["toml"]):
            continue
        for i, line in enumerate(body):
            check_flags(doc, start + i, line.removeprefix("$ "))
            check_paths(doc, start + i, line)
        if info == "sh runnable":
            runnable += 1
            run_block(doc, start, body)
        elif info == "console runnable":
            runnable += 1
            run_console(doc, start, body)
        elif info.split()[:1] not in [[kind] for kind in NOT_COMMANDS]:
            key = (doc, body[0] if body else "")
            if key in SKIPPED:
                skipped.append(key)
            else:
                failures.append(f"{doc}:{start}: a command block neither runnable (`sh runnable`, "
                                f"`console runnable`) nor in doc_test.py's SKIPPED with a reason")
    in_block = False
    for n, line in enumerate(text.splitlines(), 1):
        if FENCE.match(line):
            in_block = not in_block
            continue
        if not in_block:
            for span in re.findall(r"`([^`]+)`", line):
                check_flags(doc, n, span)
                check_paths(doc, n, span)

for key in SKIPPED:
    if key not in skipped:
        failures.append(f"SKIPPED names no block of {key[0]}: {key[1]}")
for doc, first in skipped:
    print(f"not run: {doc}: `{first.split('  #')[0].strip()}`: {SKIPPED[(doc, first)]}")
for f in failures:
    print("FAIL:", f, file=sys.stderr)
print(f"{len(docs)} documents, {runnable} runnable blocks run, {len(skipped)} not run, "
      f"{len(help_cache)} binaries' flags checked, {len(failures)} failures")
if runnable == 0:
    print("FAIL: no `sh runnable` block found: the extraction is broken", file=sys.stderr)
    sys.exit(1)
sys.exit(1 if failures else 0)
