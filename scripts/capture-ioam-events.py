#!/usr/bin/env python3
"""Capture real kernel IOAM6_EVENT_TRACE events as test fixtures (python3 stdlib only).

Builds three network namespaces joined by veth pairs, all named after this process id:

    snd (fd00:1::1) --- (fd00:1::2) rtr (fd00:2::1) --- (fd00:2::2) rcv

rtr forwards and rcv receives; both have IOAM enabled on their ingress interface with
known node/interface ids and IOAM namespace 123 (rcv also with opaque state schema 7).
A user-space sender in snd plays the IOAM encapsulating node: a UDP socket with the
IPV6_HOPOPTS socket option carrying a Hop-by-Hop header with an IOAM Pre-allocated Trace
option, one probe per trace type below. A listener in rtr and one in rcv join the generic
netlink group "ioam6_events" of family "IOAM6" and record every event. The namespaces are
deleted on every exit path (normal end, exception, SIGINT/SIGTERM/SIGHUP).

Usage (root):  scripts/capture-ioam-events.py capture [-o tests/data/kernel-events/events.json]
Exits 77 when not root or when the kernel has no IOAM6 events. The output is JSON: the kernel release, the configuration used, and per probe the events
seen by each listener (attributes decoded, TRACE_DATA as hex). The "listen" and "send"
sub-commands are the halves run inside the namespaces (through `ip netns exec`).
"""

import argparse
import json
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import time

# --- Generic netlink (uapi linux/netlink.h, linux/genetlink.h, linux/ioam6_genl.h) ---
NETLINK_GENERIC = 16
SOL_NETLINK = 270
NETLINK_ADD_MEMBERSHIP = 1
NLM_F_REQUEST = 1
NLMSG_ERROR = 2
GENL_ID_CTRL = 0x10
CTRL_CMD_GETFAMILY = 3
CTRL_ATTR_FAMILY_ID = 1
CTRL_ATTR_FAMILY_NAME = 2
CTRL_ATTR_MCAST_GROUPS = 7
CTRL_ATTR_MCAST_GRP_NAME = 1
CTRL_ATTR_MCAST_GRP_ID = 2
IOAM6_GENL_NAME = "IOAM6"
IOAM6_GENL_EV_GRP_NAME = "ioam6_events"
IOAM6_EVENT_TRACE = 1
ATTR_NAMESPACE, ATTR_NODELEN, ATTR_TYPE, ATTR_DATA = 1, 2, 3, 4

# --- IPv6 (uapi linux/in6.h) ---
IPV6_UNICAST_HOPS = 16
IPV6_HOPOPTS = 54
IPV6_OPT_IOAM = 0x31
IOAM_TYPE_PREALLOC = 0
SENDER_HOP_LIMIT = 64
EXIT_UNSUPPORTED = 77  # ctest/automake "skipped"
UDP_PORT = 5999
NEXT_HEADER_UDP = 17

# --- The configuration the fixtures are checked against (tests/common/ioam) ---
IOAM_NAMESPACE = 123
CONFIG = {
    "rtr": {
        "ioam6_id": 1, "ioam6_id_wide": 0x00010203040506,
        "ingress_id": 11, "ingress_id_wide": 0x000b000b,
        "egress_id": 12, "egress_id_wide": 0x000c000c,
        "namespace_data": 0xcafe0001, "namespace_data_wide": 0x1111222233334444,
        "schema": None,
    },
    "rcv": {
        "ioam6_id": 42, "ioam6_id_wide": 0x00aabbccddeeff,
        "ingress_id": 7, "ingress_id_wide": 0x00070007,
        "namespace_data": 0xdeadbeef, "namespace_data_wide": 0x0123456789abcdef,
        # 9 octets: the kernel pads schema data with zeros to a multiple of 4.
        "schema": {"id": 7, "data": "opaque-07"},
    },
}

# The node a probe pre-fills as the encapsulating node ("prefilled" probe): bits 0-7.
PREFILLED_NODE = bytes.fromhex("40000001" "ffff0001" "00000000" "00000000"
                               "ffffffff" "deadbeef" "ffffffff" "ffffffff")

# Probes: trace type (24 bits), NodeLen sent, pre-allocated data octets, pre-filled data.
PROBES = [
    {"name": "bits0-7", "type": 0xff0000, "node_len": 8, "space": 64},
    {"name": "wide", "type": 0x00e000, "node_len": 6, "space": 48},
    {"name": "bits0-11", "type": 0xfff000, "node_len": 15, "space": 120},
    {"name": "opaque", "type": 0x800002, "node_len": 1, "space": 40},
    {"name": "all-defined", "type": 0xfff002, "node_len": 15, "space": 144},
    {"name": "opaque-only", "type": 0x000002, "node_len": 0, "space": 20},
    {"name": "prefilled", "type": 0xff0000, "node_len": 8, "space": 96,
     "prefill": PREFILLED_NODE.hex()},
    {"name": "overflow", "type": 0xff0000, "node_len": 8, "space": 32},
    {"name": "reserved-bit23", "type": 0xff0001, "node_len": 8, "space": 64},
    # Undefined bit 12: NodeLen as RFC 9197 and kernels with 6db8b56eed62 count it (2), then
    # as older kernels did (1); a fixed kernel drops the second.
    {"name": "undefined-bit12", "type": 0x800800, "node_len": 2, "space": 16},
    {"name": "undefined-bit12-old-nodelen", "type": 0x800800, "node_len": 1, "space": 16},
]


# ----------------------------------------------------------------------------------------
# Netlink helpers
def nla_parse(buf):
    attrs, off = {}, 0
    while off + 4 <= len(buf):
        length, kind = struct.unpack_from("=HH", buf, off)
        if length < 4 or off + length > len(buf):
            break
        attrs[kind & 0x3FFF] = buf[off + 4:off + length]
        off += (length + 3) & ~3
    return attrs


def nla(kind, payload):
    attr = struct.pack("=HH", 4 + len(payload), kind) + payload
    return attr + b"\0" * (-len(attr) % 4)


def nl_messages(buf):
    off = 0
    while off + 16 <= len(buf):
        length, kind, _flags, _seq, _pid = struct.unpack_from("=IHHII", buf, off)
        if length < 16 or off + length > len(buf):
            break
        yield kind, buf[off + 16:off + length]
        off += (length + 3) & ~3


def resolve_family(sock):
    """Returns (family id, multicast group id of ioam6_events) via CTRL_CMD_GETFAMILY."""
    payload = struct.pack("=BBH", CTRL_CMD_GETFAMILY, 1, 0)
    payload += nla(CTRL_ATTR_FAMILY_NAME, IOAM6_GENL_NAME.encode() + b"\0")
    sock.send(struct.pack("=IHHII", 16 + len(payload), GENL_ID_CTRL, NLM_F_REQUEST, 1, 0)
              + payload)
    for kind, body in nl_messages(sock.recv(65536)):
        if kind == NLMSG_ERROR:
            (err,) = struct.unpack_from("=i", body)
            raise OSError(-err, "CTRL_CMD_GETFAMILY IOAM6 failed")
        attrs = nla_parse(body[4:])
        family = struct.unpack("=H", attrs[CTRL_ATTR_FAMILY_ID][:2])[0]
        for group in nla_parse(attrs.get(CTRL_ATTR_MCAST_GROUPS, b"")).values():
            g = nla_parse(group)
            if g.get(CTRL_ATTR_MCAST_GRP_NAME, b"").rstrip(b"\0").decode() == \
                    IOAM6_GENL_EV_GRP_NAME:
                return family, struct.unpack("=I", g[CTRL_ATTR_MCAST_GRP_ID][:4])[0]
    raise RuntimeError("family IOAM6 has no group ioam6_events")


def decode_event(cmd, attrs):
    event = {"cmd": cmd}
    if ATTR_NAMESPACE in attrs:
        event["namespace"] = struct.unpack("=H", attrs[ATTR_NAMESPACE][:2])[0]
    if ATTR_NODELEN in attrs:
        event["node_len"] = attrs[ATTR_NODELEN][0]
    if ATTR_TYPE in attrs:
        event["trace_type_word"] = "0x%08x" % struct.unpack("=I", attrs[ATTR_TYPE][:4])[0]
    if ATTR_DATA in attrs:
        event["data"] = attrs[ATTR_DATA].hex()
    event["attributes_hex"] = {str(k): v.hex() for k, v in sorted(attrs.items())}
    return event


def listen(seconds):
    """Prints "ready", then one JSON line per event until `seconds` elapse."""
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_GENERIC)
    sock.bind((0, 0))
    try:
        family, group = resolve_family(sock)
    except (OSError, RuntimeError) as err:
        print(json.dumps({"ready": False, "error": str(err)}), flush=True)
        return
    sock.setsockopt(SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, group)
    print(json.dumps({"ready": True, "family": family, "group": group}), flush=True)
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        if not select.select([sock], [], [], left)[0]:
            continue
        for kind, body in nl_messages(sock.recv(65536)):
            if kind != family or len(body) < 4:
                continue
            print(json.dumps(decode_event(body[0], nla_parse(body[4:]))), flush=True)


# ----------------------------------------------------------------------------------------
# Sender: the IOAM encapsulating node
def pto_option_data(probe):
    space, node_len = probe["space"], probe["node_len"]
    prefill = bytes.fromhex(probe.get("prefill", ""))
    remaining = (space - len(prefill)) // 4
    header = struct.pack("!BBHHI", 0, IOAM_TYPE_PREALLOC, IOAM_NAMESPACE,
                         (node_len << 11) | remaining, probe["type"] << 8)
    return header + bytes(space - len(prefill)) + prefill


def hop_by_hop(option_data):
    """RFC 8200 layout as net/ipv6/ioam6_iptunnel.c: PadN(0), IOAM type at offset 4."""
    hdr = bytes([NEXT_HEADER_UDP, 0, 1, 0, IPV6_OPT_IOAM, len(option_data)]) + option_data
    pad = -len(hdr) % 8
    if pad == 1:
        hdr += b"\0"
    elif pad > 1:
        hdr += bytes([1, pad - 2]) + bytes(pad - 2)
    return bytes([hdr[0], len(hdr) // 8 - 1]) + hdr[2:]


def send(destination, probes):
    # Neighbour discovery would otherwise hold the first probes back and release them in a
    # burst, so that their timestamps would not tell the probes apart.
    warm_up = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    warm_up.sendto(b"warm-up", (destination, UDP_PORT))
    warm_up.close()
    time.sleep(1.0)
    for probe in probes:
        sock = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        sock.setsockopt(socket.IPPROTO_IPV6, IPV6_UNICAST_HOPS, SENDER_HOP_LIMIT)
        sock.setsockopt(socket.IPPROTO_IPV6, IPV6_HOPOPTS, hop_by_hop(pto_option_data(probe)))
        sock.sendto(probe["name"].encode(), (destination, UDP_PORT))
        sock.close()
        time.sleep(0.2)  # keeps events in probe order across both listeners


# ----------------------------------------------------------------------------------------
# Orchestration
def run(*cmd, ns=None):
    full = (["ip", "netns", "exec", ns] if ns else []) + [str(c) for c in cmd]
    subprocess.run(full, check=True, stdout=subprocess.DEVNULL)


class Topology:
    def __init__(self):
        tag = str(os.getpid())
        self.ns = {role: f"ioamcap-{role}-{tag}" for role in ("snd", "rtr", "rcv")}
        self.created = []

    def __enter__(self):
        for name in self.ns.values():
            run("ip", "netns", "add", name)
            self.created.append(name)
            run("ip", "link", "set", "lo", "up", ns=name)
            # No DAD, so that link-local addresses and neighbour discovery work at once.
            run("sysctl", "-qw", "net.ipv6.conf.default.accept_dad=0", ns=name)
        self._link("snd", "v-snd", "fd00:1::1", "rtr", "v-rtr1", "fd00:1::2")
        self._link("rtr", "v-rtr2", "fd00:2::1", "rcv", "v-rcv", "fd00:2::2")
        run("ip", "-6", "route", "add", "default", "via", "fd00:1::2", ns=self.ns["snd"])
        run("ip", "-6", "route", "add", "default", "via", "fd00:2::1", ns=self.ns["rcv"])
        run("sysctl", "-qw", "net.ipv6.conf.all.forwarding=1", ns=self.ns["rtr"])
        self._ioam("rtr", "v-rtr1", "v-rtr2")
        self._ioam("rcv", "v-rcv", None)
        return self

    def __exit__(self, *exc):
        for name in reversed(self.created):
            subprocess.run(["ip", "netns", "del", name], check=False)
        self.created.clear()
        return False

    def _link(self, a, a_if, a_addr, b, b_if, b_addr):
        run("ip", "link", "add", a_if, "netns", self.ns[a], "type", "veth",
            "peer", "name", b_if, "netns", self.ns[b])
        for role, ifname, addr in ((a, a_if, a_addr), (b, b_if, b_addr)):
            run("ip", "addr", "add", f"{addr}/64", "dev", ifname, "nodad", ns=self.ns[role])
            run("ip", "link", "set", ifname, "up", ns=self.ns[role])

    def _ioam(self, role, ingress, egress):
        c, ns = CONFIG[role], self.ns[role]
        run("sysctl", "-qw", f"net.ipv6.ioam6_id={c['ioam6_id']}", ns=ns)
        run("sysctl", "-qw", f"net.ipv6.ioam6_id_wide={c['ioam6_id_wide']}", ns=ns)
        run("sysctl", "-qw", f"net.ipv6.conf.{ingress}.ioam6_enabled=1", ns=ns)
        run("sysctl", "-qw", f"net.ipv6.conf.{ingress}.ioam6_id={c['ingress_id']}", ns=ns)
        run("sysctl", "-qw", f"net.ipv6.conf.{ingress}.ioam6_id_wide={c['ingress_id_wide']}",
            ns=ns)
        if egress:
            run("sysctl", "-qw", f"net.ipv6.conf.{egress}.ioam6_id={c['egress_id']}", ns=ns)
            run("sysctl", "-qw", f"net.ipv6.conf.{egress}.ioam6_id_wide={c['egress_id_wide']}",
                ns=ns)
        run("ip", "ioam", "namespace", "add", IOAM_NAMESPACE, "data",
            f"0x{c['namespace_data']:08x}", "wide", f"0x{c['namespace_data_wide']:016x}", ns=ns)
        if c["schema"]:
            run("ip", "ioam", "schema", "add", c["schema"]["id"], c["schema"]["data"], ns=ns)
            run("ip", "ioam", "namespace", "set", IOAM_NAMESPACE, "schema",
                c["schema"]["id"], ns=ns)


class Unsupported(Exception):
    """The kernel or the environment cannot produce IOAM trace events."""


def start_listener(ns, seconds):
    proc = subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, __file__, "listen",
                             "--seconds", str(seconds)], stdout=subprocess.PIPE, text=True)
    ready = json.loads(proc.stdout.readline() or "{}")
    if not ready.get("ready"):
        proc.kill()
        proc.wait()
        raise Unsupported(f"no IOAM6 event listener in {ns}: {ready.get('error', 'no output')}")
    return proc


def assign_events(events, probes):
    """Matches events to probes in order by (trace type, NodeLen); unmatched probes get none."""
    result = {p["name"]: [] for p in probes}
    pending = list(events)
    for probe in probes:
        word = "0x%08x" % (probe["type"] << 8)
        if pending and pending[0].get("trace_type_word") == word and \
                pending[0].get("node_len") == probe["node_len"]:
            result[probe["name"]].append(pending.pop(0))
    return result, pending


def capture(output):
    listen_seconds = 3 + 0.2 * len(PROBES) + 2
    with Topology() as topo:
        children = []  # killed on every exit path, before the namespaces go
        try:
            listeners = {}
            for role in ("rtr", "rcv"):
                listeners[role] = start_listener(topo.ns[role], listen_seconds)
                children.append(listeners[role])
            sender = subprocess.Popen(["ip", "netns", "exec", topo.ns["snd"], sys.executable,
                                       __file__, "send", "--destination", "fd00:2::2",
                                       "--probes", json.dumps(PROBES)])
            children.append(sender)
            if sender.wait() != 0:
                raise RuntimeError("sender failed")
            seen = {role: [json.loads(line) for line in proc.stdout]
                    for role, proc in listeners.items()}
        finally:
            for proc in children:
                if proc.poll() is None:
                    proc.kill()
                proc.wait()
    probes_out, leftovers = [], {}
    per_role = {}
    for role, events in seen.items():
        per_role[role], leftovers[role] = assign_events(events, PROBES)
    for probe in PROBES:
        entry = dict(probe)
        entry["option_data_hex"] = pto_option_data(probe).hex()
        entry["events"] = {role: per_role[role][probe["name"]] for role in per_role}
        probes_out.append(entry)
    doc = {
        "captured_with": "scripts/capture-ioam-events.py",
        "kernel": os.uname().release,
        "captured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "sender_hop_limit": SENDER_HOP_LIMIT,
        "ioam_namespace": IOAM_NAMESPACE,
        "config": CONFIG,
        "probes": probes_out,
        "unmatched_events": leftovers,
    }
    text = json.dumps(doc, indent=1) + "\n"
    if output == "-":
        sys.stdout.write(text)
    else:
        with open(output, "w", encoding="ascii") as f:
            f.write(text)


def raise_on_signal(signum, _frame):
    raise KeyboardInterrupt(f"signal {signum}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd")
    cap = sub.add_parser("capture", help="set up namespaces, send probes, write JSON")
    cap.add_argument("-o", "--output", default="-")
    lis = sub.add_parser("listen", help="print IOAM6 events of this netns as JSON lines")
    lis.add_argument("--seconds", type=float, default=5.0)
    snd = sub.add_parser("send", help="send IOAM probes (used inside the sender netns)")
    snd.add_argument("--destination", required=True)
    snd.add_argument("--probes", required=True)
    args = parser.parse_args(sys.argv[1:] or ["capture"])
    if args.cmd == "listen":
        listen(args.seconds)
    elif args.cmd == "send":
        send(args.destination, json.loads(args.probes))
    else:
        if os.geteuid() != 0:
            print("capture needs root (network namespaces, CAP_NET_ADMIN, CAP_NET_RAW)",
                  file=sys.stderr)
            sys.exit(EXIT_UNSUPPORTED)
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, raise_on_signal)
        try:
            capture(args.output)
        except Unsupported as err:
            print(f"unsupported: {err}", file=sys.stderr)
            sys.exit(EXIT_UNSUPPORTED)
        except KeyboardInterrupt as err:
            print(f"interrupted ({err}); namespaces removed", file=sys.stderr)
            sys.exit(130)


if __name__ == "__main__":
    main()
