#!/usr/bin/env python3
"""The web console in headless Chromium against a live collector.

The collector is filled without root: tests/data/ipfix/ioam-4hop.ipfix (packets over the
4-node path 1 -> 2 -> 3 -> 4, traces and DEX) is sent over UDP loopback from four source
addresses, 127.0.0.1 to 127.0.0.4, so that the collector sees four exporters as in the demo
topology. Each view of the console is loaded with --dump-dom once its JavaScript has run, and
the DOM is checked: the view finished drawing (body data-ready), no error was listed (API
failures and JavaScript errors, window.onerror included, go to #errors) and no uncaught
exception reached the browser console, and the view shows what matters (the path graph's four
nodes, segment delays, four exporters ...). A screenshot of the paths view is saved as
ARTIFACTS/console.png. Exit 77 (skipped) when Chromium is not installed.
"""

import argparse
import json
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request
from html.parser import HTMLParser

SKIP = 77


class Dom(HTMLParser):
    """The parts of a dumped DOM the checks read."""

    def __init__(self):
        super().__init__()
        self.body = {}
        self.errors = []
        self.path_graphs = []  # [[node ids]] per svg.path-graph
        self.rows = {}  # tr class word -> [{td class: text}]
        self.elements = {}  # element id -> attributes
        self.svgs = []  # classes of the svg elements
        self.selected = {}  # select id -> value of its selected option
        self._select = None
        self._stack = []
        self._row = None
        self._cell = None
        self._li = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        classes = (a.get("class") or "").split()
        if tag == "body":
            self.body = a
        if "id" in a:
            self.elements[a["id"]] = a
        if tag == "svg":
            self.svgs.extend(classes)
        if tag == "select":
            self._select = a.get("id")
        if tag == "option" and self._select and "selected" in a:
            self.selected[self._select] = a.get("value")
        if tag == "svg" and "path-graph" in classes:
            self.path_graphs.append([])
        if tag == "g" and "node" in classes and self.path_graphs:
            self.path_graphs[-1].append(a.get("data-node"))
        if tag == "tr" and classes:
            self._row = {}
            for c in classes:
                self.rows.setdefault(c, []).append(self._row)
        if tag == "td" and self._row is not None:
            self._cell = (a.get("class") or "").split() or ["_"]
            for c in self._cell:
                self._row[c] = ""
        if tag == "li" and self._stack and self._stack[-1] == "errors":
            self._li = ""
        self._stack.append(a.get("id", tag))

    def handle_endtag(self, tag):
        if self._stack:
            self._stack.pop()
        if tag == "td":
            self._cell = None
        if tag == "tr":
            self._row = None
        if tag == "li" and self._li is not None:
            self.errors.append(self._li)
            self._li = None

    def handle_data(self, data):
        if self._cell is not None and self._row is not None:
            for c in self._cell:
                self._row[c] += data.strip()
        if self._li is not None:
            self._li += data


def fail(message):
    print(f"FAIL: {message}", flush=True)
    sys.exit(1)


def wait_for(what, check, timeout=30.0):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            fail(f"timed out waiting for {what}")
        time.sleep(0.1)


def get_json(base, path):
    with urllib.request.urlopen(base + path, timeout=10) as r:
        return json.load(r)


def send_recording(path, port):
    """Sends every message of the recording once from each of four loopback addresses."""
    data = open(path, "rb").read()
    messages, at = [], 0
    while at + 4 <= len(data):
        length = struct.unpack_from("!H", data, at + 2)[0]
        if length < 16:
            fail(f"{path}: bad message length {length} at {at}")
        messages.append(data[at:at + length])
        at += length
    socks = []
    try:
        for k in range(1, 5):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind((f"127.0.0.{k}", 0))
            socks.append(s)
        for i, m in enumerate(messages):
            for s in socks:
                s.sendto(m, ("127.0.0.1", port))
            # About 2000 messages/s in all: well within the collector's pace.
            if i % 5 == 4:
                time.sleep(0.01)
    finally:
        for s in socks:
            s.close()
    return len(messages)


def chromium(browser, profile, url, extra):
    cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
           "--no-first-run", "--disable-extensions", f"--user-data-dir={profile}",
           "--enable-logging=stderr", "--v=0", "--virtual-time-budget=10000", *extra, url]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        fail(f"chromium exited {r.returncode} for {url}: {r.stderr[-2000:]}")
    # Console messages reach stderr: an uncaught exception is a failure even if the page's own
    # handler missed it (a syntax error stops the script before its handler exists).
    uncaught = [l for l in r.stderr.splitlines() if "CONSOLE" in l and "Uncaught" in l]
    if uncaught:
        fail(f"JavaScript errors at {url}: {uncaught}")
    return r.stdout


def check_view(browser, profile, base, view, checks):
    url = f"{base}/?window=0#{view}"
    dom = Dom()
    dom.feed(chromium(browser, profile, url, ["--dump-dom"]))
    if dom.errors:
        fail(f"{view}: the console listed errors: {dom.errors}")
    if dom.body.get("data-ready") != view.split("/")[0]:
        fail(f"{view}: the view never finished drawing (body {dom.body})")
    checks(dom)
    print(f"ok: view {view}", flush=True)


def check_paths(dom):
    if ["1", "2", "3", "4"] not in dom.path_graphs:
        fail(f"paths: no graph of the path 1-2-3-4 (graphs: {dom.path_graphs})")
    segs = dom.rows.get("segment", [])
    keys = sorted(r.get("key", "") for r in segs)
    if keys != ["1 → 2", "2 → 3", "3 → 4"]:
        fail(f"paths: segment table rows {keys}")
    for r in segs:
        for c in ("p50", "p99"):
            if not re.fullmatch(r"[0-9.]+ (ns|µs|ms|s)", r.get(c, "")):
                fail(f"paths: segment {r.get('key')} has no {c} delay: {r}")


def check_exporters(dom):
    rows = dom.rows.get("exporter", [])
    addresses = sorted(r.get("key", "").rsplit(":", 1)[0] for r in rows)
    if addresses != [f"127.0.0.{k}" for k in range(1, 5)]:
        fail(f"exporters: rows {rows}, expected 127.0.0.1 to 127.0.0.4")
    # Sequence loss is shown as a count (a busy machine may drop a datagram: not asserted 0).
    if any(r.get("state") != "active" or not re.fullmatch(r"[0-9,]+", r.get("loss", ""))
           for r in rows):
        fail(f"exporters: not all active with a sequence-loss count: {rows}")


def check_nodes(dom):
    ids = sorted(r.get("key", "") for r in dom.rows.get("node", []))
    if ids != ["1", "2", "3", "4"]:
        fail(f"nodes: rows {ids}")


def check_latency_of(key):
    def check(dom):
        check_latency(dom)
        if dom.selected.get("series-key") != key:
            fail(f"latency: showing {dom.selected.get('series-key')}, asked for {key}")
    return check


def check_latency(dom):
    if "series" not in dom.svgs or not dom.rows.get("point"):
        fail("latency: no chart or no point in the table")
    if not all(re.fullmatch(r"[0-9.]+ (ns|µs|ms|s)", r.get("p99", "")) for r in dom.rows["point"]):
        fail(f"latency: points without delay: {dom.rows['point']}")


def check_records(dom):
    if len(dom.rows.get("record", [])) == 0:
        fail("records: empty table")


def check_dex(dom):
    if ["1", "2", "3", "4"] not in dom.path_graphs:
        fail(f"dex: the flow's nodes are not 1-2-3-4 ({dom.path_graphs})")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin-dir", required=True)
    ap.add_argument("--source-dir", required=True)
    ap.add_argument("--artifacts", required=True)
    args = ap.parse_args()
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if not browser:
        print("SKIPPED: chromium is not installed (scripts/install-deps.sh installs it)")
        return SKIP
    collector_bin = os.path.join(args.bin_dir, "collector", "ioam-collector")
    recording = os.path.join(args.source_dir, "tests", "data", "ipfix", "ioam-4hop.ipfix")
    tmp = tempfile.mkdtemp(prefix="ioam-console-test.")
    log_path = os.path.join(tmp, "collector.log")
    collector = None
    try:
        with open(log_path, "w") as log:
            # The recording's times are from 2026-11-24: no age retention, or they would go.
            collector = subprocess.Popen(
                [collector_bin, "--udp-listen", "127.0.0.1:0", "--tcp-listen", "",
                 "--http-listen", "127.0.0.1:0", "--db", os.path.join(tmp, "ioam.db"),
                 "--retention-age", "0"], stdout=log, stderr=subprocess.STDOUT)

        def ports():
            if collector.poll() is not None:
                fail(f"collector exited: {open(log_path).read()}")
            m = re.search(r"udp \S+ \(port (\d+)\).*HTTP \S+ \(port (\d+)\)", open(log_path).read())
            return m and (int(m.group(1)), int(m.group(2)))

        udp, http = wait_for("the collector's ports", ports)
        base = f"http://127.0.0.1:{http}"
        sent = send_recording(recording, udp)
        print(f"sent {sent} messages from each of 4 exporters to udp port {udp}", flush=True)
        wait_for("4 exporters", lambda: len(get_json(base, "/api/v1/exporters")["exporters"]) == 4)
        wait_for("the path 1-2-3-4 in the rollups", lambda: any(
            p["nodes"] == [1, 2, 3, 4] and p["packets"] >= 1000
            for p in get_json(base, "/api/v1/paths")["paths"]))
        wait_for("the 3 segments", lambda: len(get_json(base, "/api/v1/segments")["segments"]) == 3)

        profile = os.path.join(tmp, "profile")
        check_view(browser, profile, base, "paths", check_paths)
        check_view(browser, profile, base, "exporters", check_exporters)
        check_view(browser, profile, base, "nodes", check_nodes)
        check_view(browser, profile, base, "latency", check_latency)
        check_view(browser, profile, base, "latency/segment/2-3", check_latency_of("segment/2-3"))
        check_view(browser, profile, base, "latency/path/123:1,2,3,4",
                   check_latency_of("path/123:1,2,3,4"))
        check_view(browser, profile, base, "records", check_records)
        check_view(browser, profile, base, "dex", check_dex)

        os.makedirs(args.artifacts, exist_ok=True)
        shot = os.path.join(args.artifacts, "console.png")
        chromium(browser, profile, f"{base}/?window=0#paths",
                 ["--hide-scrollbars", "--window-size=1280,720", f"--screenshot={shot}"])
        if not os.path.exists(shot) or os.path.getsize(shot) < 10000:
            fail(f"no screenshot at {shot}")
        print(f"screenshot: {shot}", flush=True)
        print("PASS", flush=True)
        return 0
    finally:
        if collector and collector.poll() is None:
            collector.terminate()
            try:
                collector.wait(timeout=30)
            except subprocess.TimeoutExpired:
                collector.kill()
                collector.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
