#!/usr/bin/env python3
"""End-to-end test on the real kernel: five namespaces (scripts/topology.sh), an
ioam-exporter listening in each IOAM node's namespace (r1, r2, r3, sink), one ioam-collector
with SQLite, ioam-probe sending IOAM traces from the source. Asserts through the collector's
JSON API and /metrics. Needs root; exits 77 (ctest: skipped) without it.

Usage: e2e_test.py --bin-dir BUILD_DIR [--source-dir REPO]
"""

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

from packet_identity import identity

SAMPLE_RE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)')
LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_metrics(text):
    """Prometheus text format -> list of (name, labels, value)."""
    out = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE_RE.match(line)
        if m:
            labels = dict(LABEL_RE.findall(m.group(2) or ""))
            out.append((m.group(1), labels, float(m.group(3))))
    return out


def metric_value(samples, name, **labels):
    """Value of the one sample with exactly these labels, None if absent."""
    want = {k: str(v) for k, v in labels.items()}
    values = [v for n, l, v in samples if n == name and l == want]
    return values[0] if len(values) == 1 else None

NODES = ["r1", "r2", "r3", "sink"]           # IOAM nodes, in path order
NODE_IDS = {"r1": 101, "r2": 102, "r3": 103, "sink": 104}
SINK = "fd00:0:0:4::2"
IOAM_NS = 123
TRACE_TYPES = [  # (RFC bits, extra ioam-probe flags)
    ("0,1,2,3", []),                           # node id, interfaces, timestamps
    ("0,1,2,3,4,5,6,7", []),                   # + transit delay, ns data, queue, checksum
    ("0,2,3,8,9,10,11", []),                   # wide ids and data, buffer occupancy
    ("0,2,3,22", ["--opaque-octets", "8"]),    # opaque state snapshot (schema on r2)
]
PROBES = 20           # per trace type
SAMPLE_N = 4          # r2's exporter samples 1 in 4 in the sampling phase
WAIT_S = 20


class Failure(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failure(what)
    print(f"  ok: {what}")


def free_port(kind=socket.SOCK_STREAM):
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Harness:
    """Owns every namespace, process and file the test makes; close() removes them all."""

    def __init__(self, args):
        self.bin = args.bin_dir
        self.src = args.source_dir
        self.prefix = f"e{os.getpid() % 10000000}"
        self.tmp = tempfile.mkdtemp(prefix="ioam-e2e-")
        self.procs = {}
        self.topology_up = False
        self.ipfix_port = free_port(socket.SOCK_DGRAM)
        self.http_port = free_port()

    def close(self):
        for name, p in self.procs.items():
            if p.poll() is None:
                p.kill()
                p.wait()
        if self.topology_up:
            subprocess.run(["bash", f"{self.src}/scripts/topology.sh", "down", self.prefix],
                           check=False)
        shutil.rmtree(self.tmp, ignore_errors=True)

    def ns(self, node):
        return f"{self.prefix}-{node}"

    def topology(self):
        self.topology_up = True
        subprocess.run(["bash", f"{self.src}/scripts/topology.sh", "up", self.prefix],
                       check=True, stdout=subprocess.DEVNULL)

    def start(self, name, argv):
        log = open(os.path.join(self.tmp, f"{name}.log"), "wb")
        self.procs[name] = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)

    def start_collector(self):
        # The ports are free when picked, not when the collector binds them: a test running
        # beside this one may take one in between. A collector that exits before it is ready
        # (port in use) is started again on new ports.
        for _ in range(5):
            self.start("collector", [
                f"{self.bin}/collector/ioam-collector",
                "--db", os.path.join(self.tmp, "ioam.db"),
                "--udp-listen", f"127.0.0.1:{self.ipfix_port}",
                "--tcp-listen", f"127.0.0.1:{self.ipfix_port}",
                "--http-listen", f"127.0.0.1:{self.http_port}",
            ])
            collector = self.procs["collector"]
            self.wait_for(lambda: collector.poll() is not None or
                          self.http_status("/readyz") == 200, "collector ready")
            if collector.poll() is None:
                return
            print(f"  collector exited ({collector.returncode}) before ready; new ports")
            self.ipfix_port = free_port(socket.SOCK_DGRAM)
            self.http_port = free_port()
        raise Failure("collector did not start on 5 sets of free ports")

    def start_exporter(self, node, extra=()):
        transport = "tcp" if node == "r3" else "udp"
        self.start(f"exporter-{node}", [
            f"{self.bin}/exporter/ioam-exporter",
            "--netns", self.ns(node),
            "--collector", f"{transport}://127.0.0.1:{self.ipfix_port}",
            "--domain-id", str(NODE_IDS[node]),
            "--flush-interval", "20",
            *extra,
        ])

    def stop_exporter(self, node, sig=signal.SIGTERM):
        p = self.procs[f"exporter-{node}"]
        p.send_signal(sig)
        return p.wait(timeout=10)

    def probe(self, bits, extra, count=PROBES):
        subprocess.run([
            "ip", "netns", "exec", self.ns("src"), f"{self.bin}/probe/ioam-probe", SINK,
            "--ns", str(IOAM_NS), "--trace-type", bits, "--hops", "4", "--count", str(count),
            "--rate", "200", *extra,
        ], check=True, stdout=subprocess.DEVNULL)

    def http(self, path):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.http_port}{path}", timeout=5) as r:
            return r.read().decode()

    def http_status(self, path):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.http_port}{path}",
                                        timeout=2) as r:
                return r.status
        except Exception:
            return None

    def api(self, path):
        return json.loads(self.http(path))

    def records(self, **filters):
        out, cursor = [], 0
        while True:
            q = "&".join(f"{k}={v}" for k, v in {**filters, "limit": 1000,
                                                  "cursor": cursor}.items())
            page = self.api(f"/api/v1/records?{q}")
            out += page["records"]
            if page["next_cursor"] is None:
                return out
            cursor = page["next_cursor"]

    def wait_for(self, cond, what, timeout=WAIT_S):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if cond():
                return
            time.sleep(0.2)
        raise Failure(f"timed out waiting for {what}")

    def exporters_listening(self):
        # An exporter is ready once its netlink socket joined the group: it logs it.
        for node in NODES:
            name = f"exporter-{node}"
            if name in self.procs and self.procs[name].poll() is None:
                with open(os.path.join(self.tmp, f"{name}.log"), "rb") as f:
                    if b"listening" not in f.read():
                        return False
        return True


def by_domain(records):
    out = {}
    for r in records:
        out.setdefault(r["domain"], []).append(r)
    return out


def assert_trace(rec, bits):
    nodes = list(reversed(rec["nodes"]))   # oldest (r1) first
    ids = [n.get("node_id") for n in nodes]
    check(ids == [NODE_IDS[n] for n in NODES[:len(ids)]] or "8" in bits.split(","),
          f"record {rec['id']}: path {ids} in node order")
    hops = [n["hop_limit"] if "hop_limit" in n else n.get("hop_limit_wide") for n in nodes]
    check(all(a - b == 1 for a, b in zip(hops, hops[1:])),
          f"record {rec['id']}: hop limits {hops} fall by one per hop")
    stamps = [(n["timestamp_secs"], n["timestamp_frac"]) for n in nodes]
    check(stamps == sorted(stamps), f"record {rec['id']}: timestamps do not decrease")


def main_for(name, harness_class, run_test):
    """Command line, root check, cleanup on every exit path and the closing line of a kernel
    test whose body is run_test(harness)."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin-dir", required=True)
    ap.add_argument("--source-dir", default=os.path.dirname(os.path.dirname(
        os.path.dirname(os.path.abspath(__file__)))))
    args = ap.parse_args()
    if os.geteuid() != 0:
        print(f"SKIPPED: the {name} test needs root (network namespaces, CAP_NET_ADMIN)")
        return 77

    h = harness_class(args)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        run_test(h)
        print(f"{name}: 1 passed, 0 failed")
        return 0
    except Failure as e:
        print(f"FAILED: {e}")
        for proc in h.procs:
            path = os.path.join(h.tmp, f"{proc}.log")
            print(f"--- {proc} log (tail)")
            with open(path, "rb") as f:
                print(f.read()[-3000:].decode(errors="replace"))
        return 1
    finally:
        h.close()


def run(h):
    h.topology()
    h.start_collector()
    for node in NODES:
        h.start_exporter(node)
    h.wait_for(h.exporters_listening, "exporters joined ioam6_events")

    print("phase 1: every trace type, every node reports every probe")
    for bits, extra in TRACE_TYPES:
        h.probe(bits, extra)
    total = PROBES * len(TRACE_TYPES)
    h.wait_for(lambda: len(h.records(kind=0)) >= total * len(NODES), "all trace records")
    time.sleep(0.5)   # anything more would be a duplicate
    recs = h.records(kind=0)
    per = by_domain(recs)
    for node in NODES:
        check(len(per.get(NODE_IDS[node], [])) == total,
              f"{node}: {total} records, one per probe (got {len(per.get(NODE_IDS[node], []))})")
    for rec in per[NODE_IDS["sink"]]:
        check(len(rec["nodes"]) == 4, f"record {rec['id']}: 4 nodes at the sink")
    for bits, _ in TRACE_TYPES:
        want = 0
        for b in bits.split(","):
            want |= 0x800000 >> int(b)
        sample = [r for r in per[NODE_IDS["sink"]] if int(r["trace_type"], 16) == want]
        check(len(sample) == PROBES, f"trace type {bits}: {PROBES} sink records")
        for rec in sample[:3]:
            assert_trace(rec, bits)
        nodes = sample[0]["nodes"]
        has = lambda field: [field in n for n in nodes]
        if "4" in bits.split(","):
            check(not any(has("transit_delay")), "transit delay (unsupported) is absent")
            check(not any(has("checksum_complement")), "checksum complement is absent")
        if "1" in bits.split(","):
            check("egress_if_id" not in nodes[0], "egress id absent at the sink (local delivery)")
            check(nodes[1].get("egress_if_id") == 32, "r3 egress id 32")
            check(nodes[0].get("ingress_if_id") == 41, "sink ingress id 41")
        if "10" in bits.split(","):
            check(nodes[0].get("namespace_data_wide") == 0xcafe000000000004,
                  "sink wide namespace data")
            check(nodes[0].get("node_id_wide") == 0xa0000000000004, "sink wide node id")
            check(not any(has("buffer_occupancy")), "buffer occupancy (unsupported) is absent")
        if "22" in bits.split(","):
            r2 = nodes[2]
            check(r2.get("opaque_state", {}).get("schema_id") == 7, "r2 opaque state schema 7")
            check(bytes.fromhex(r2["opaque_state"]["data"]).rstrip(b"\0") == b"r2-state",
                  "r2 opaque state data")
            check("opaque_state" not in nodes[0], "no opaque state where no schema is set")

    # The summaries are the store's rollups: they show once the writer committed them.
    full_path = lambda: [p for p in h.api("/api/v1/paths")["paths"]
                         if p["nodes"] == [101, 102, 103, 104]]
    h.wait_for(lambda: sum(p["packets"] for p in full_path()) >= total,
               "the full path in /api/v1/paths")
    paths = h.api("/api/v1/paths")["paths"]
    full = full_path()
    check(len(full) == 1 and full[0]["packets"] == total,
          f"path 101,102,103,104 counted {total} packets ({paths})")
    nodes = {n["node_id"]: n for n in h.api("/api/v1/nodes")["nodes"]}
    for node in NODES[1:]:
        seg = nodes[NODE_IDS[node]]["segment_delay"]
        check(seg is not None and seg.get("min_ns", 0) >= 0,
              f"{node}: segment delay present and non-negative")
    # Each probe is one packet on the full path and nothing on its prefixes; a packet is counted
    # once its reports are joined (at most the correlation window after its first report).
    full = {"namespace": IOAM_NS, "path": "101,102,103,104"}
    h.wait_for(lambda: metric_value(parse_metrics(h.http("/metrics")), "ioam_path_packets_total",
                                    **full) == total,
               f"/metrics: ioam_path_packets_total{full} = {total}")
    samples = parse_metrics(h.http("/metrics"))
    check(not any(n == "ioam_path_packets_total" and l.get("path") in ("101", "101,102",
                                                                       "101,102,103")
                  for n, l, _ in samples),
          "/metrics: no packets counted on a prefix of the path")
    check(any(n == "ioam_segment_delay_seconds_count" for n, _, _ in samples),
          "/metrics: per-segment delay histogram present")

    print("phase 2: sampling 1/%d on r2, consistent: by packet identity" % SAMPLE_N)
    h.stop_exporter("r2")
    h.start_exporter("r2", ["--sample", f"1/{SAMPLE_N}"])
    h.wait_for(h.exporters_listening, "r2 exporter back")
    last_id = max(r["id"] for r in h.records(kind=0))
    h.probe("0,1,2,3", [], count=PROBES)
    new = lambda: [r for r in h.records(kind=0) if r["id"] > last_id]
    h.wait_for(lambda: len(by_domain(new()).get(NODE_IDS["sink"], [])) >= PROBES,
               "the sink's records of the sampled phase")
    time.sleep(0.5)   # r2's records travel with the sink's; anything later is a bug anyway
    phase = by_domain(new())
    kept = {identity(r) for r in phase[NODE_IDS["r1"]] if identity(r) % SAMPLE_N == 0}
    got = {identity(r) for r in phase.get(NODE_IDS["r2"], [])}
    check(got == kept, f"r2 exported exactly the {len(kept)} of {PROBES} packets whose identity "
          f"falls in the kept 1/{SAMPLE_N} (got {len(got)})")
    per = by_domain(h.records(kind=0))

    print("phase 3: r3's exporter killed; the others go on")
    counts = {n: len(per[NODE_IDS[n]]) for n in NODES}
    h.stop_exporter("r3", signal.SIGKILL)
    h.probe("0,1,2,3", [], count=PROBES)
    h.wait_for(lambda: len(by_domain(h.records(kind=0))[NODE_IDS["sink"]]) >=
               counts["sink"] + PROBES, "records after the kill")
    time.sleep(0.5)
    per = by_domain(h.records(kind=0))
    check(len(per[NODE_IDS["r3"]]) == counts["r3"], "r3 sends nothing once killed")
    for node in ("r1", "sink"):
        check(len(per[NODE_IDS[node]]) == counts[node] + PROBES, f"{node} still delivers")
    exporters = {e["domain"]: e for e in h.api("/api/v1/exporters")["exporters"]}
    r3 = exporters[NODE_IDS["r3"]]
    check(r3.get("state") == "closed" and r3.get("ended_ns"),
          f"collector shows r3's exporter stopped (state {r3.get('state')})")


if __name__ == "__main__":
    sys.exit(main_for("e2e", Harness, run))
