#!/usr/bin/env python3
"""Joins the reallocations measured in the run-realloc-test.sh guests with the prediction of
ioam-realloc-calc for the headroom each case measured at the tunnel's entry.

    realloc-join.py --calc BIN --out TABLE.md GUEST.log...

Each guest log holds "ROW key=value..." lines (realloc-vm-init.sh). For each row the calculator
is asked twice (--packet first, --packet cached) with the measured headroom and mac_len, the veth
device of the VM (hard_header_len 14, needed_headroom 0) and x86_64's 64-octet cache line. The
variant that applies: ioam6 on the pristine kernel is "unpatched", on the patched one "patched";
seg6 and rpl are "patched" on both (Debian's 6.1.192 carries their stable fixes). RPL rows carry
their segments and destination: the calculator compresses them as the kernel does. A row agrees when the
first packet's count and every later packet's count equal the prediction. Prints the table,
writes it to --out and exits 0 only when every row agrees or is in EXPLAINED.
"""
import argparse
import json
import re
import subprocess
import sys

# (kernel, proto, mode, size, sender) -> why the measurement differs, from the kernel source.
EXPLAINED = {}

ENV = ["--cache-line", "64", "--hard-header-len", "14", "--needed-headroom", "0"]


def rows_of(paths):
    rows = []
    for path in paths:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                line = line.replace("\r", "").strip()
                if line.startswith("ROW "):
                    rows.append(dict(re.findall(r"(\w+)=(\S+)", line[4:])))
    return rows


def variant(row):
    if row["proto"] == "ioam" and row["kernel"] == "pristine":
        return "unpatched"
    return "patched"


def encap_args(row):
    if row["proto"] == "ioam":
        return ["--ioam", row["mode"], "--pto", row["size"]]
    if row["proto"] == "rpl":
        return ["--rpl", "--rpl-segs", row["segs"], "--rpl-daddr", row["daddr"]]
    return ["--srv6", row["mode"], "--segments", row["size"]]


def predict(calc, row, packet, cache):
    """The calculator's prediction of both variants for the row's headroom and encapsulation."""
    key = (row["headroom"], row["mac_len"], row["proto"], row["mode"], row["size"], packet)
    if key not in cache:
        cmd = [calc, "--headroom", row["headroom"], "--mac-len", row["mac_len"], *ENV,
               *encap_args(row), "--kernel", "both", "--packet", packet, "--format", "json"]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        cases = json.loads(out)
        if len(cases) != 1:
            raise ValueError(f"{' '.join(cmd)}: {len(cases)} cases, want 1")
        cache[key] = cases[0]["kernels"]
    return cache[key]


def seq(expansions):
    """headroom:nhead of each expansion, the form the guest reports (without the caller)."""
    return ",".join(f"{e['headroom']}:{e['nhead']}" for e in expansions) or "-"


def measured_seq(text):
    return ",".join(":".join(e.split(":")[:2]) for e in text.split(",")) if text != "-" else "-"


def judge(row, first, cached):
    """'yes', 'EXPLAINED' or 'NO', and a note."""
    count = int(row["count"])
    if row.get("error"):
        return "NO", f"guest error: {row['error']}"
    if int(row["entries"]) != count:
        return "NO", f"{row['entries']} of {count} packets reached the tunnel"
    ok = (int(row["first"]) == first["reallocations"]
          and int(row["rest_min"]) == int(row["rest_max"]) == cached["reallocations"])
    notes = []
    if measured_seq(row["first_seq"]) != seq(first["expansions"]):
        notes.append(f"first: measured {measured_seq(row['first_seq'])}, "
                     f"predicted {seq(first['expansions'])}")
    if measured_seq(row["rest_seq"]) != seq(cached["expansions"]):
        notes.append(f"cached: measured {measured_seq(row['rest_seq'])}, "
                     f"predicted {seq(cached['expansions'])}")
    if int(row["other"]):
        notes.append(f"{row['other']} expansions off the tunnel path, not counted")
    if ok:
        return "yes", "; ".join(notes)
    key = (row["kernel"], row["proto"], row["mode"], int(row["size"]), row["sender"])
    if key in EXPLAINED:
        return "EXPLAINED", EXPLAINED[key]
    return "NO", "; ".join(notes)


def table(rows, calc):
    cache = {}
    header = ("| kernel | proto | mode | size | sender | headroom / mac_len | calculator | "
              "predicted first / cached | measured first | measured rest (per packet) | "
              "agree | expansions measured (headroom:nhead:caller) | note |")
    lines = [header, "|" + " --- |" * 13]
    bad = 0
    for row in rows:
        if row.get("error"):
            first = cached = {"reallocations": "?", "expansions": []}
            verdict, note = judge(row, first, cached)
            lines.append(f"| {row['kernel']} | {row['proto']} | {row['mode']} | {row['size']} | "
                         f"{row['sender']} | | | | | | **{verdict}** | | {note} |")
            bad += 1
            continue
        first_both = predict(calc, row, "first", cache)
        cached_both = predict(calc, row, "cached", cache)
        first, cached = first_both[variant(row)], cached_both[variant(row)]
        verdict, note = judge(row, first, cached)
        other = "patched" if variant(row) == "unpatched" else "unpatched"
        if (first_both[other]["reallocations"], cached_both[other]["reallocations"]) != (
                first["reallocations"], cached["reallocations"]):
            note = "; ".join(filter(None, [note, (
                f"{other} would be {first_both[other]['reallocations']} / "
                f"{cached_both[other]['reallocations']}")]))
        bad += verdict == "NO"
        count = int(row["count"])
        rest = int(row["rest_total"]) / max(count - 1, 1)
        rest_text = f"{rest:g}" if row["rest_min"] == row["rest_max"] else (
            f"{rest:.2f} ({row['rest_min']}..{row['rest_max']})")
        lines.append(
            f"| {row['kernel']} | {row['proto']} | {row['mode']} | {row['size']} | "
            f"{row['sender']} | {row['headroom']} / {row['mac_len']} | {variant(row)} | "
            f"{first['reallocations']} / {cached['reallocations']} | {row['first']} | "
            f"{rest_text} | {verdict if verdict != 'NO' else '**NO**'} | "
            f"first {row['first_seq']}; then {row['rest_seq']} | {note} |")
    return lines, bad


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calc", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("logs", nargs="+")
    args = parser.parse_args()
    rows = rows_of(args.logs)
    if not rows:
        print("realloc-join: no ROW line in the guest logs", file=sys.stderr)
        return 1
    lines, bad = table(rows, args.calc)
    text = "\n".join(lines) + "\n"
    with open(args.out, "w", encoding="utf-8") as f:
        f.write(text)
    print(text, end="")
    print(f"realloc-join: {len(rows)} rows, {bad} disagree")
    return 0 if bad == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
