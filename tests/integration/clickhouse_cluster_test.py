#!/usr/bin/env python3
"""Several collectors behind one ClickHouse cluster, on the real kernel: two five-namespace
topologies (scripts/topology.sh), an ioam-exporter on every IOAM node of each; the exporters
of topology A report to collector 1, those of topology B to collector 2 (all nodes of a path
report to the same collector); collector N writes to shard N of a two-server cluster
(real clickhouse-server processes on loopback). Both collectors' /api/v1 answer with the
union, counts exact, and each shard holds its own collector's records only.

Needs root and clickhouse-server; exits 77 (ctest: skipped) without either, or when a server
does not start. Usage: clickhouse_cluster_test.py --bin-dir BUILD [--source-dir REPO]
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_test import (Failure, Harness, check, main_for, free_port,  # noqa: E402
                      NODES, NODE_IDS, IOAM_NS, SINK)

PROBES = {"a": 20, "b": 30}                 # per topology: tells their records apart
DOMAINS = {"a": NODE_IDS, "b": {n: i + 100 for n, i in NODE_IDS.items()}}
FULL_PATH = [101, 102, 103, 104]            # both topologies number their nodes alike
DB = "ioam_cluster"


class Skip(Exception):
    pass


def clickhouse_binary():
    if "IOAM_CLICKHOUSE_SERVER" in os.environ:
        binary = os.environ["IOAM_CLICKHOUSE_SERVER"]
        return binary if os.access(binary, os.X_OK) else None
    return shutil.which("clickhouse-server", path=os.environ.get("PATH", "") + ":/usr/sbin")


def get(port, path, timeout=5):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as r:
        return r.status, r.read().decode()


def answers(port, path, want=None):
    try:
        status, body = get(port, path, timeout=2)
        return status == 200 and (want is None or body == want)
    except Exception:
        return False


class Cluster(Harness):
    def __init__(self, args):
        super().__init__(args)
        pid = os.getpid() % 100000   # topology.sh: prefixes of at most 8
        self.topologies = {"a": f"cha{pid}", "b": f"chb{pid}"}
        self.servers = []     # http ports, shard 1 then 2
        self.collectors = {}  # topology -> (ipfix port, http port)

    def close(self):
        super().close()   # processes killed, temporary directory removed
        for prefix in self.topologies.values():
            subprocess.run(["bash", f"{self.src}/scripts/topology.sh", "down", prefix],
                           check=False)

    def topology(self):
        for prefix in self.topologies.values():
            subprocess.run(["bash", f"{self.src}/scripts/topology.sh", "up", prefix],
                           check=True, stdout=subprocess.DEVNULL)

    def start_servers(self):
        # Ports are free when picked, not when bound: a server that finds one taken starts
        # both again on new ports (the cluster names both TCP ports).
        for _ in range(3):
            ports = [[free_port() for _ in range(3)] for _ in range(2)]  # http, tcp, interserver
            for shard, (http, tcp, inter) in enumerate(ports):
                self.start_server(shard, http, tcp, inter, [p[1] for p in ports])
            self.wait_for(lambda: all(self.procs[f"clickhouse-{s}"].poll() is not None or
                                      answers(ports[s][0], "/ping", "Ok.\n") for s in (0, 1)),
                          "clickhouse-servers answer /ping")
            if all(answers(p[0], "/ping", "Ok.\n") for p in ports):
                self.servers = [p[0] for p in ports]
                return
            logs = "".join(self.log(f"clickhouse-{s}")[-400:] for s in (0, 1))
            for s in (0, 1):
                p = self.procs.pop(f"clickhouse-{s}")
                p.kill()
                p.wait()
            if "Address already in use" not in logs:
                raise Skip(f"clickhouse-server did not start: {logs}")
        raise Skip("clickhouse-server found its ports taken 3 times")

    def start_server(self, shard, http, tcp, inter, shard_tcp_ports):
        d = os.path.join(self.tmp, f"clickhouse-{shard}")
        os.makedirs(d, exist_ok=True)
        replicas = "".join(f"<shard><replica><host>127.0.0.1</host><port>{p}</port></replica>"
                           "</shard>" for p in shard_tcp_ports)
        with open(os.path.join(d, "config.xml"), "w") as f:
            f.write(f"""<?xml version="1.0"?><yandex>
<logger><level>warning</level><console>1</console></logger>
<http_port>{http}</http_port><tcp_port>{tcp}</tcp_port>
<interserver_http_port>{inter}</interserver_http_port><listen_host>127.0.0.1</listen_host>
<path>{d}/data/</path><tmp_path>{d}/tmp/</tmp_path><user_files_path>{d}/user_files/</user_files_path>
<format_schema_path>{d}/format_schemas/</format_schema_path><mark_cache_size>67108864</mark_cache_size>
<users><default><password></password><networks><ip>127.0.0.1</ip></networks>
<profile>default</profile><quota>default</quota></default></users>
<profiles><default></default></profiles><quotas><default></default></quotas>
<default_profile>default</default_profile><default_database>default</default_database>
<remote_servers><ioam>{replicas}</ioam></remote_servers></yandex>
""")
        self.start(f"clickhouse-{shard}", [clickhouse_binary(), f"--config-file={d}/config.xml"])

    def log(self, name):
        with open(os.path.join(self.tmp, f"{name}.log"), "rb") as f:
            return f.read().decode(errors="replace")

    def sql(self, shard, query):
        return get(self.servers[shard], "/?query=" + urllib.parse.quote(query))[1]

    def start_collector_for(self, topo, shard):
        # Collector 2 gzips its bodies (compress=1), collector 1 does not: both ways in one run.
        store = (f"clickhouse://127.0.0.1:{self.servers[shard]}/{DB}?cluster=ioam"
                 f"&collector={shard + 1}" + ("&compress=1" if shard else ""))
        name = f"collector-{topo}"
        for _ in range(5):
            ipfix, http = free_port(socket.SOCK_DGRAM), free_port()
            self.start(name, [f"{self.bin}/collector/ioam-collector", "--store", store,
                              "--udp-listen", f"127.0.0.1:{ipfix}",
                              "--tcp-listen", f"127.0.0.1:{ipfix}",
                              "--http-listen", f"127.0.0.1:{http}"])
            p = self.procs[name]
            self.wait_for(lambda: p.poll() is not None or answers(http, "/readyz"),
                          f"{name} ready")
            if p.poll() is None:
                self.collectors[topo] = (ipfix, http)
                return
            print(f"  {name} exited ({p.returncode}) before ready; new ports")
        raise Failure(f"{name} did not start on 5 sets of free ports")

    def start_exporters(self, topo):
        for node in NODES:
            self.start(f"exporter-{topo}-{node}", [
                f"{self.bin}/exporter/ioam-exporter",
                "--netns", f"{self.topologies[topo]}-{node}",
                "--collector", f"udp://127.0.0.1:{self.collectors[topo][0]}",
                "--domain-id", str(DOMAINS[topo][node]),
                "--flush-interval", "20",
            ])

    def exporters_listening(self):
        # An exporter is ready once its netlink socket joined the group: it logs it.
        return all("listening" in self.log(name)
                   for name in self.procs if name.startswith("exporter-"))

    def probe(self, topo):
        subprocess.run([
            "ip", "netns", "exec", f"{self.topologies[topo]}-src",
            f"{self.bin}/probe/ioam-probe", SINK, "--ns", str(IOAM_NS),
            "--trace-type", "0,1,2,3", "--hops", "4", "--count", str(PROBES[topo]),
            "--rate", "200",
        ], check=True, stdout=subprocess.DEVNULL)

    def api_of(self, topo, path):
        return json.loads(get(self.collectors[topo][1], path)[1])

    def records_of(self, topo):
        out, cursor = [], 0
        while True:
            page = self.api_of(topo, f"/api/v1/records?kind=0&limit=1000&cursor={cursor}")
            out += page["records"]
            if page["next_cursor"] is None:
                return out
            cursor = page["next_cursor"]


def run(h):
    h.start_servers()
    h.topology()
    for shard, topo in enumerate(("a", "b")):
        h.start_collector_for(topo, shard)
        h.start_exporters(topo)
    h.wait_for(h.exporters_listening, "exporters joined ioam6_events")
    for topo in ("a", "b"):
        h.probe(topo)

    want = {DOMAINS[t][n]: PROBES[t] for t in ("a", "b") for n in NODES}
    total = sum(want.values())
    packets = sum(PROBES.values())
    for topo in ("a", "b"):
        print(f"collector {topo}: answers for the cluster")
        h.wait_for(lambda: len(h.records_of(topo)) >= total, f"{total} records")
        recs = h.records_of(topo)
        per = {}
        for r in recs:
            per[r["domain"]] = per.get(r["domain"], 0) + 1
        check(per == want, f"{total} records, one per probe and node of both topologies "
                           f"({per})")
        check(len({r["id"] for r in recs}) == total, "ids unique across collectors")
        full = lambda: [p for p in h.api_of(topo, "/api/v1/paths")["paths"]
                        if p["nodes"] == FULL_PATH]
        h.wait_for(lambda: sum(p["packets"] for p in full()) >= packets,
                   "the full path in /api/v1/paths")
        check([p["packets"] for p in full()] == [packets],
              f"path 101,102,103,104: {packets} packets, each counted once ({full()})")
    # Collector N assigns ids from N * 2^40 and writes to shard N only.
    for shard, topo in enumerate(("a", "b")):
        local = int(h.sql(shard, f"SELECT count() FROM {DB}.records"))
        check(local == PROBES[topo] * len(NODES),
              f"shard {shard + 1} holds collector {shard + 1}'s {local} records only")
        ids = h.sql(shard, f"SELECT min(id) >= {(shard + 1) << 40} AND max(id) < "
                           f"{(shard + 2) << 40} FROM {DB}.records")
        check(ids == "1\n", f"shard {shard + 1}: ids in collector {shard + 1}'s range")


def main():
    if not clickhouse_binary():
        print("SKIPPED: the clickhouse cluster test needs clickhouse-server "
              "(Debian: apt-get install clickhouse-server)")
        return 77
    try:
        return main_for("clickhouse cluster", Cluster, run)
    except Skip as e:
        print(f"SKIPPED: {e}")
        return 77


if __name__ == "__main__":
    sys.exit(main())
