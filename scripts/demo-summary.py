#!/usr/bin/env python3
"""Prints a short live summary from a running ioam-collector: the busiest paths with their
packets (each counted once), loss and end-to-end delay, each segment with its delay and loss,
and each exporter's health. Usage: demo-summary.py HOST:PORT"""

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
    for p in get(base, "/api/v1/paths?limit=3")["paths"]:
        route = " -> ".join(str(n) for n in p["nodes"])
        print(f"   path {route}: {p['packets']} packets, {p['lost']} lost, end-to-end "
              f"p50 {us(p['delay_p50_ns'])}, p99 {us(p['delay_p99_ns'])}")
    for s in get(base, "/api/v1/segments?limit=8")["segments"]:
        print(f"   segment {s['from']} -> {s['to']}: {s['packets']} packets, {s['lost']} lost, "
              f"delay p50 {us(s['delay_p50_ns'])}, p99 {us(s['delay_p99_ns'])}")
    for e in get(base, "/api/v1/exporters")["exporters"]:
        print(f"   exporter {e['address']}/{e['domain']} ({e['transport']}): {e['state']}, "
              f"{e['records']} records, {e['lost']} lost in transit")


if __name__ == "__main__":
    main()
