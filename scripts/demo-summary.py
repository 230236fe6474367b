#!/usr/bin/env python3
"""Prints a short live summary from a running ioam-collector: the busiest paths with their
end-to-end delay, and every node with its segment delay. Usage: demo-summary.py HOST:PORT"""

import json
import sys
import urllib.request


def get(base, path):
    with urllib.request.urlopen(f"http://{base}{path}", timeout=3) as r:
        return json.load(r)


def us(ns):
    return "-" if ns is None else f"{ns / 1000:.0f} us"


def main():
    base = sys.argv[1]
    paths = sorted(get(base, "/api/v1/paths")["paths"], key=lambda p: -len(p["nodes"]))
    for p in paths[:3]:
        route = " -> ".join(str(n) for n in p["nodes"])
        print(f"   path {route}: {p['packets']} packets, end-to-end "
              f"p50 {us(p['delay_p50_ns'])}, p99 {us(p['delay_p99_ns'])}")
    for n in get(base, "/api/v1/nodes")["nodes"]:
        s = n["segment_delay"]
        seg = (f"delay from previous hop mean {us(s['mean_ns'])} "
               f"(min {us(s['min_ns'])}, max {us(s['max_ns'])})" if s["count"] else "first hop")
        print(f"   node {n['node_id']}: in {n['records']} records, {seg}")


if __name__ == "__main__":
    main()
