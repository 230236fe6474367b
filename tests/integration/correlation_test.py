#!/usr/bin/env python3
"""Packets, not reports, on the real kernel: the five-namespace topology with an exporter on
every IOAM node (r1's IPFIX held back so that its reports arrive after the others'), probes
from the source, and the collector's /metrics read as parsed samples.

- every probe counts once, on its full path, and once in each segment's delay histogram;
- packets dropped by an nftables rule (`numgen random`, this kernel has no sch_netem) on the
  r2 -> r3 link show up as loss on segment 102 -> 103, within binomial bounds, and nowhere else;
- a killed exporter makes its node's reports missing: counted as incomplete data, not as loss;
- with the same --sample 1/N on every node, every node keeps the same packets (computed here
  from the packet identity, as the exporters do) and no kept packet is counted as lost.

Needs root; exits 77 (ctest: skipped) without it. Usage: correlation_test.py --bin-dir BUILD
"""

import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_test import (Failure, Harness, check, main_for, parse_metrics,  # noqa: E402
                      NODES, NODE_IDS, IOAM_NS)
from packet_identity import identity  # noqa: E402

FULL_PATH = "101,102,103,104"
SEGMENTS = [("101", "102"), ("102", "103"), ("103", "104")]
SAMPLE_N = 4
DROP_PERCENT = 30

def total(samples, name, **want):
    return sum(v for n, labels, v in samples
               if n == name and all(labels.get(k) == str(x) for k, x in want.items()))


def segment_samples(samples, name, frm, to, **want):
    """Sum of a per-segment series whatever the exporter labels the ends (from/to)."""
    return total(samples, name, **{"from": frm, "to": to}, **want)


class Correlation(Harness):
    def start_exporter(self, node, extra=()):
        transport = "tcp" if node == "r3" else "udp"
        # r1 holds its records 1.5 s: its reports reach the collector after the other nodes'.
        flush = "1500" if node == "r1" else "20"
        self.start(f"exporter-{node}", [
            f"{self.bin}/exporter/ioam-exporter",
            "--netns", self.ns(node),
            "--collector", f"{transport}://127.0.0.1:{self.ipfix_port}",
            "--domain-id", str(NODE_IDS[node]),
            "--flush-interval", flush,
            *extra,
        ])

    def metrics_text(self):
        return self.http("/metrics")

    def metrics(self):
        return parse_metrics(self.metrics_text())

    def path_packets(self, path=FULL_PATH):
        return total(self.metrics(), "ioam_path_packets_total", namespace=IOAM_NS, path=path)

    def lost(self, samples, frm, to):
        return segment_samples(samples, "ioam_segment_lost_packets_total", frm, to)

    def nft(self, node, script):
        subprocess.run(["ip", "netns", "exec", self.ns(node), "nft", "-f", "-"],
                       input=script.encode(), check=True)

    def restart_exporters(self, extra=()):
        for node in NODES:
            p = self.procs.get(f"exporter-{node}")
            if p is not None and p.poll() is None:
                self.stop_exporter(node)
        for node in NODES:
            self.start_exporter(node, extra)
        self.wait_for(self.exporters_listening, "exporters joined ioam6_events")


# The families that count packets and reports: settled once they stop moving. The rest of the
# exposition moves on its own (process CPU and memory, the store's file size), on a loaded
# machine at any time.
TRAFFIC_FAMILIES = ("ioam_path_", "ioam_segment_", "ioam_node_", "ioam_hop_", "ioam_packets_",
                    "ioam_correlator_", "ioam_collector_decoded_records_total")


def traffic_lines(text):
    return "\n".join(line for line in text.splitlines() if line.startswith(TRAFFIC_FAMILIES))


def wait_settled(h, read, what, timeout=20):
    """Waits until the traffic samples of `read()` stop changing for 3 s (windows closed,
    nothing in flight); returns the whole exposition last read."""
    deadline = time.monotonic() + timeout
    text = read()
    last, since = traffic_lines(text), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.25)
        text = read()
        now = traffic_lines(text)
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= 3:
            return text
    raise Failure(f"{what} still changing after {timeout} s")


def run(h):
    if subprocess.run(["sh", "-c", "command -v nft"], stdout=subprocess.DEVNULL).returncode:
        print("SKIPPED: nft (nftables) not installed")
        raise SystemExit(77)
    h.topology()
    h.start_collector()
    for node in NODES:
        h.start_exporter(node)
    h.wait_for(h.exporters_listening, "exporters joined ioam6_events")

    print("phase 1: each packet counted once, on its full path")
    n = 100
    h.probe("0,1,2,3", [], count=n)
    h.wait_for(lambda: h.path_packets() >= n, f"{n} packets on {FULL_PATH}")
    h.wait_for(lambda: sum(p["packets"] for p in h.api("/api/v1/paths")["paths"]) >= n,
               "the store's summaries")
    samples = parse_metrics(wait_settled(h, h.metrics_text, "metrics"))
    check(total(samples, "ioam_path_packets_total", namespace=IOAM_NS, path=FULL_PATH) == n,
          f"ioam_path_packets_total{{path={FULL_PATH}}} = {n}")
    for prefix in ("101", "101,102", "101,102,103"):
        check(total(samples, "ioam_path_packets_total", path=prefix) == 0,
              f"no packet counted on the prefix {prefix}")
    for frm, to in SEGMENTS:
        got = segment_samples(samples, "ioam_segment_delay_seconds_count", frm, to)
        check(got == n, f"segment {frm}->{to}: {n} delay samples (got {got})")
        check(h.lost(samples, frm, to) == 0, f"segment {frm}->{to}: no loss")
    paths = h.api("/api/v1/paths")["paths"]
    api_full = [p for p in paths if ",".join(map(str, p["nodes"])) == FULL_PATH]
    check(len(api_full) == 1 and api_full[0]["packets"] == n,
          f"/api/v1/paths agrees: {FULL_PATH} = {n} ({paths})")
    check(all(p["packets"] == 0 for p in paths if p is not api_full[0]),
          "/api/v1/paths has no prefix paths with packets")

    print(f"phase 2: {DROP_PERCENT}% dropped between r2 and r3")
    h.nft("r2", f"""table inet ioamdrop {{
  chain forward_drop {{ type filter hook forward priority 0; policy accept;
    meta l4proto udp numgen random mod 100 < {DROP_PERCENT} drop
  }}
}}""")
    m = 400
    before = parse_metrics(h.metrics_text())
    delivered0 = total(before, "ioam_path_packets_total", namespace=IOAM_NS, path=FULL_PATH)
    h.probe("0,1,2,3", [], count=m)
    settled = parse_metrics(wait_settled(h, h.metrics_text, "metrics after the drops"))
    delivered = total(settled, "ioam_path_packets_total", namespace=IOAM_NS,
                      path=FULL_PATH) - delivered0
    lost = h.lost(settled, "102", "103") - h.lost(before, "102", "103")
    mean, sd = m * DROP_PERCENT / 100, (m * DROP_PERCENT / 100 * (1 - DROP_PERCENT / 100)) ** .5
    check(abs(lost - mean) <= 5 * sd, f"segment 102->103 lost {lost} of {m} (expected {mean}"
          f" +- {5 * sd:.0f})")
    # A report the collector never got (a UDP datagram dropped on a loaded machine) makes its
    # packet incomplete, not lost: every probe is in exactly one of the three.
    incomplete = (total(settled, "ioam_packets_incomplete_total") -
                  total(before, "ioam_packets_incomplete_total"))
    check(delivered + lost + incomplete == m,
          f"delivered {delivered} + lost {lost} + incomplete {incomplete} = {m} probes")
    for frm, to in (("101", "102"), ("103", "104")):
        check(h.lost(settled, frm, to) == 0, f"segment {frm}->{to}: still no loss")
    path_lost = total(settled, "ioam_path_lost_packets_total", namespace=IOAM_NS)
    check(path_lost == lost, f"ioam_path_lost_packets_total = {lost} (got {path_lost})")
    h.nft("r2", "delete table inet ioamdrop")

    print("phase 3: the sink's exporter killed: missing reports are not network loss")
    lost_before = sum(h.lost(settled, f, t) for f, t in SEGMENTS)
    incomplete_before = total(settled, "ioam_packets_incomplete_total")
    h.stop_exporter("sink", signal.SIGKILL)
    k = 50
    h.probe("0,1,2,3", [], count=k)
    after = parse_metrics(wait_settled(h, h.metrics_text, "metrics after the kill"))
    lost_after = sum(h.lost(after, f, t) for f, t in SEGMENTS)
    incomplete = total(after, "ioam_packets_incomplete_total") - incomplete_before
    check(lost_after == lost_before, f"no loss counted for the silent exporter "
          f"({lost_after - lost_before} new)")
    check(incomplete == k, f"{k} packets counted incomplete (got {incomplete})")

    print(f"phase 4: every exporter samples 1/{SAMPLE_N}: the same packets everywhere")
    h.restart_exporters(["--sample", f"1/{SAMPLE_N}"])
    first_id = max((r["id"] for r in h.records(kind=0)), default=0)
    lost_before = sum(h.lost(after, f, t) for f, t in SEGMENTS)
    delivered_before = total(after, "ioam_path_packets_total", namespace=IOAM_NS, path=FULL_PATH)
    s = 200
    h.probe("0,1,2,3", [], count=s)
    h.wait_for(lambda: any(r["domain"] == NODE_IDS["sink"] and r["id"] > first_id
                           for r in h.records(kind=0)), "sampled records")
    final = parse_metrics(wait_settled(h, h.metrics_text, "metrics after sampling"))
    recs = [r for r in h.records(kind=0) if r["id"] > first_id]
    kept = {}
    for r in recs:
        kept.setdefault(r["domain"], set()).add(identity(r))
    expected = kept.get(NODE_IDS["r1"], set())
    check(all(i % SAMPLE_N == 0 for i in expected), "r1 kept only packets in the kept 1/N")
    lo, hi = s / SAMPLE_N - 5 * (s / SAMPLE_N) ** .5, s / SAMPLE_N + 5 * (s / SAMPLE_N) ** .5
    check(lo <= len(expected) <= hi, f"r1 kept {len(expected)} of {s} (about {s // SAMPLE_N})")
    for node in NODES[1:]:
        check(kept.get(NODE_IDS[node], set()) == expected,
              f"{node} kept exactly the packets r1 kept")
    check(sum(h.lost(final, f, t) for f, t in SEGMENTS) == lost_before,
          "no sampled packet counted as lost")
    delivered = total(final, "ioam_path_packets_total", namespace=IOAM_NS,
                      path=FULL_PATH) - delivered_before
    check(delivered == SAMPLE_N * len(expected),
          f"each kept packet counts {SAMPLE_N} on the full path ({delivered} for "
          f"{len(expected)} kept)")
    check(total(final, "ioam_collector_sampling_records_total") > 0,
          "the collector received the exporters' sampling records")


if __name__ == "__main__":
    sys.exit(main_for("correlation", Correlation, run))
