#!/usr/bin/env python3
"""Writes the seed corpus of every fuzz target, derived from tests/data, into OUT/<target>/,
and libFuzzer dictionaries (OUT/<target>.dict) of the words the text parsers look for, taken
from their sources so that they follow new flags and routes.

Usage: make_seeds.py REPO_ROOT OUT. Python 3 standard library only. The input formats are
described at the top of each fuzz/<target>.cpp.
"""

import hashlib
import json
import pathlib
import re
import struct
import sys


def write(out, target, seeds):
    d = out / target
    d.mkdir(parents=True, exist_ok=True)
    for s in seeds:
        data = s.encode() if isinstance(s, str) else bytes(s)
        (d / ("seed-" + hashlib.sha1(data).hexdigest()[:16])).write_bytes(data)


def ipfix_messages(root):
    data = (root / "tests/data/ipfix/ioam-4hop.ipfix").read_bytes()
    msgs, pos = [], 0
    while len(data) - pos >= 16:
        n = struct.unpack_from(">H", data, pos + 2)[0]
        msgs.append(data[pos:pos + n])
        pos += n
    return msgs


def ipfix_seeds(root):
    m = ipfix_messages(root)

    def chunks(*parts):  # (op, message) pairs
        return b"".join(bytes([op]) + struct.pack(">H", len(b)) + b for op, b in parts)

    seeds = [
        chunks(*[(0, x) for x in m[:4]]),
        chunks((2, m[0]), (2, m[1]), (6, m[2])),  # TCP, then a reconnect without templates
        chunks((0, m[0]), (1, m[1]), (0, m[2]), (3, m[0]), (3, m[3])),
        chunks((0, m[0]), (14 << 3, m[5])),  # 1960 s later: the UDP templates expired
        chunks((0, m[-1]), (0, m[7])),  # the template-refresh-only message, then data
    ]
    seeds += [chunks((0, m[0]), (0, m[i])) for i in range(25, len(m), 25)]
    return seeds


def netlink_message(cmd, attrs):
    """nlmsghdr + genlmsghdr + attributes, host order (x86-64: little endian)."""
    body = bytes([cmd, 1, 0, 0])
    for a_type, payload in attrs:
        body += struct.pack("<HH", 4 + len(payload), a_type) + payload
        body += b"\0" * (-len(body) % 4)
    return struct.pack("<IHHII", 16 + len(body), 0x1E, 0, 0, 0) + body


def kernel_probes(root):
    return json.loads((root / "tests/data/kernel-events/ioam6-trace-events.json").read_text())["probes"]


def netlink_seeds(root):
    seeds = []
    for probe in kernel_probes(root):
        for events in probe["events"].values():
            for ev in events:
                attrs = [(int(k), bytes.fromhex(v)) for k, v in sorted(ev["attributes_hex"].items())]
                seeds.append(netlink_message(ev["cmd"], attrs))
    be32 = lambda v: struct.pack(">I", v)
    be64 = lambda v: struct.pack(">Q", v)
    # DEX events as the DEX kernel series sends them (attributes: exporter/decode).
    seeds.append(netlink_message(2, [
        (5, b"\x04"), (6, struct.pack("<H", 0x1234)), (7, struct.pack("<I", 0xA1B2C3D4)),
        (8, struct.pack("<I", 17)), (9, be32(0x40000102)), (10, be32(0x00050006)),
        (11, be32(1000)), (12, be32(2000)), (13, be32(0xFFFFFFFF)), (14, be32(0xDEADBEEF)),
        (15, be32(12)), (16, be32(0xFFFFFFFF)), (17, be64(0x3F00000000000ABC)),
        (18, be64(0x0000000800000009)), (19, be64(0x0102030405060708)), (20, be32(99))]))
    seeds.append(netlink_message(2, [
        (6, struct.pack("<H", 5)), (9, be32(0x01000007)), (21, be32(0xFFFFFFFF)),
        (31, be32(0x02ABCDEF)), (32, b"opaque-data!")]))
    return seeds


def hop_by_hop(option_data, next_header=17):
    """The kernel's layout: PadN(0) so that the IOAM option type sits at offset 4, then Pad1 or
    PadN up to a multiple of 8 octets."""
    opts = b"\x01\x00" + bytes([0x31, len(option_data)]) + option_data
    pad = -(2 + len(opts)) % 8
    opts += b"\x00" if pad == 1 else (bytes([1, pad - 2]) + b"\0" * (pad - 2) if pad else b"")
    return bytes([next_header, (2 + len(opts)) // 8 - 1]) + opts


def codec_seeds(root):
    seeds = []
    dex = bytes([0, 4]) + struct.pack(">HBBI", 7, 0, 0xC0, 0xF80000 << 8) + struct.pack(">II", 9, 1)
    for probe in kernel_probes(root):
        option = bytes.fromhex(probe["option_data_hex"])
        seeds.append(b"\x00" + option)
        seeds.append(b"\x01" + hop_by_hop(option))
        for events in probe["events"].values():
            for ev in events:
                type_word = int(ev["trace_type_word"], 16)
                seeds.append(b"\x02" + struct.pack(">I", type_word)[:3] + bytes([ev["node_len"]])
                             + bytes.fromhex(ev["data"]))
    seeds += [b"\x00" + dex, b"\x01" + hop_by_hop(dex, 58)]
    return seeds


def http_seeds():
    return [
        "/healthz", "/readyz", "/metrics", "HEAD /healthz", "POST /api/v1/records",
        "/api/v1/records", "/api/v1/records?limit=5&cursor=3",
        "/api/v1/records?namespace=123&node=4&kind=0&from=1&to=18446744073709551615",
        "/api/v1/records?kind=1&flow=3&limit=1000", "/api/v1/records/1", "/api/v1/records/99999",
        "/api/v1/nodes?limit=2", "/api/v1/paths", "/api/v1/paths?limit=1", "/api/v1/exporters",
        "/api/v1/dex/flows/0", "/api/v1/dex/flows/1?limit=10", "/api/v1/nodes?limit=1&limit=2",
        "/api/v1/nodes?x=1",
    ]


def collector_config_seeds():
    return [
        "--udp-listen\n0.0.0.0:4739\n--tcp-listen\n[::]:4739\n--db\n/tmp/ioam.db",
        "--http-listen=127.0.0.1:8080\n--api-max-limit\n500\n--timestamp-fraction\nns",
        "--max-sessions\n16\n--queue-size\n1000\n--batch-size\n10\n--retention-age\n3600",
        "--help", "--version", "--log-level\ndebug\n--max-series\n100",
        "%%\nudp-listen = \"0.0.0.0:4739\"\nretention-size = 1000000\nlog-level = \"warn\"\n",
        "--db\n/tmp/x.db\n%%\n[section]\nmax-templates = 8\nhttp-rate = 5.5\n",
    ]


def exporter_config_seeds():
    return [
        "--collector\nudp://127.0.0.1:4739\n--sample\n1/10\n--mtu\n1400",
        "--collector=tcp://[::1]:4739\n--collector\nudp://192.0.2.1:4739\n--no-hops",
        "--print\njson\n--flush-interval\n50\n--template-refresh\n10\n--rcvbuf\n1048576",
        "--help", "--print\njson\n--netns\nblue\n--metrics-listen\n127.0.0.1:9100",
        "%%\ncollector = \"udp://127.0.0.1:4739\"\ndomain-id = 7\nsample = \"1/4\"\n",
        "%%\n{\"collector\": [\"udp://127.0.0.1:4739\", \"tcp://127.0.0.1:4740\"], \"mtu\": 9000}",
        "--print\njson\n%%\n{\"no-hops\": true, \"log-level\": \"info\", \"tcp-buffer\": 65536}",
    ]


def write_dict(out, target, words):
    lines = ['"%s"' % "".join(c if c.isalnum() or c in "-_/.=?&:[] " else "\\x%02x" % ord(c) for c in w)
             for w in sorted(set(words))]
    (out / (target + ".dict")).write_text("\n".join(lines) + "\n")


def string_literals(path, pattern):
    return re.findall(r'"(%s)"' % pattern, path.read_text())


def varint(v):
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def packed_record(id_step, time_step, bits, raw, nodes, flow=None, seq=None):
    """One record of collector/store/sqlite/record_block.hpp (zigzag time delta given as is)."""
    out = varint(id_step) + varint(time_step) + bytes([bits]) + varint(1) + varint(2)
    out += varint(7) + varint(0xF00000) + bytes([4, 0, 0])
    out += (varint(flow) if flow is not None else b"") + (varint(seq) if seq is not None else b"")
    return out + varint(len(raw)) + raw + varint(len(nodes)) + nodes


def record_block_seeds():
    trace = packed_record(0, 2 * 1_700_000_000_000_000_000, 0, bytes(range(32)), b"")
    dex = packed_record(1, 3, 1 | 2 | 4, b"", bytes([1, 2, 3, 4]), flow=77, seq=5)
    # Format 2 (zstd) seeds come from the fuzzer itself: zstd is not in Python's standard library.
    return [b"\x01", b"\x01" + trace, b"\x01" + trace + dex + dex]


def main():
    root, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
    write(out, "ipfix_message", ipfix_seeds(root))
    write(out, "netlink_event", netlink_seeds(root))
    write(out, "ioam_codecs", codec_seeds(root))
    write(out, "http_request", http_seeds())
    write(out, "collector_config", collector_config_seeds())
    write(out, "exporter_config", exporter_config_seeds())
    write(out, "record_block", record_block_seeds())
    for prog in ("collector", "exporter"):
        flags = string_literals(root / prog / "config.cpp", r"--[a-z0-9-]+")
        keys = [f[2:] + " = " for f in flags]
        write_dict(out, prog + "_config", flags + keys + ["%%\n", "[", "]", "{", "}", "="])
    routes = root / "collector/api/routes.cpp"
    write_dict(out, "http_request", string_literals(routes, r"/[a-z0-9/]*")
               + [w + "=" for w in string_literals(routes, r"[a-z_]+")] + ["?", "&", "GET ", "HEAD "])


if __name__ == "__main__":
    main()
