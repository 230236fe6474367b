#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine (as root): installs, builds, builds a five-node
# IOAM network in namespaces (scripts/topology.sh), starts an ioam-exporter for every IOAM
# node, the ioam-collector on its embedded SQLite store and a steady ioam-probe stream, then
# prints where to look and a live summary (paths and per-hop delay) every few seconds.
# Ctrl-C stops everything and removes the namespaces.
#
# Env: IOAM_DEMO_DB (default: a new store in this run's log folder), IOAM_DEMO_HTTP (127.0.0.1:9555),
#      IOAM_DEMO_IPFIX_PORT (4739), IOAM_DEMO_METRICS_PORT (the exporters' /metrics on this port
#      and the next three; default: ports the kernel picks free), IOAM_DEMO_SECONDS (0: until
#      Ctrl-C or SIGTERM), IOAM_DEMO_PREFIX (demo: the namespaces' prefix, scripts/topology.sh)
set -Eeuo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || { echo "demo: run as root (network namespaces, IOAM sysctls)" >&2; exit 1; }

bash scripts/install-deps.sh
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release -DIOAM_BUILD_TESTS=OFF \
    -DIOAM_BUILD_BENCH=OFF
cmake --build build/release --target ioam-collector ioam-exporter ioam-probe -j "$(nproc)"

bin=build/release
prefix=${IOAM_DEMO_PREFIX:-demo}
http=${IOAM_DEMO_HTTP:-127.0.0.1:9555}
ipfix_port=${IOAM_DEMO_IPFIX_PORT:-4739}
seconds=${IOAM_DEMO_SECONDS:-0}
metrics_port=${IOAM_DEMO_METRICS_PORT:-0}
logs=$(mktemp -d /tmp/ioam-demo.XXXXXX)
# Each run counts its own packets: a fresh store unless one is asked for.
db=${IOAM_DEMO_DB:-$logs/ioam.db}
pids=()
names=()

cleanup() {
    trap - EXIT INT TERM
    echo
    echo "== stopping"
    gone=$(dead | xargs)
    [ -z "$gone" ] || echo "   !! had stopped before the end: $gone (logs in $logs)"
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    bash scripts/topology.sh down "$prefix"
    echo "   namespaces removed; store kept at $db; logs in $logs"
}
trap cleanup EXIT
trap 'exit 0' INT TERM

# The command itself runs in the background (no shell function or subshell in between), so
# that the pid kept is the process to stop.
start() {  # name command...
    local name=$1; shift
    "$@" >"$logs/$name.log" 2>&1 &
    pids+=($!)
    names+=("$name")
}

# Names of the started processes that are no longer running.
dead() {
    local i
    for i in "${!pids[@]}"; do
        kill -0 "${pids[$i]}" 2>/dev/null || echo "${names[$i]}"
    done
}

echo "== topology"
bash scripts/topology.sh up "$prefix"

start collector "$bin/collector/ioam-collector" --db "$db" \
    --udp-listen "127.0.0.1:$ipfix_port" --tcp-listen "127.0.0.1:$ipfix_port" --http-listen "$http"
for _ in $(seq 50); do curl -sf "http://$http/readyz" >/dev/null && break; sleep 0.2; done
curl -sf "http://$http/readyz" >/dev/null || { echo "demo: collector did not start:" >&2; cat "$logs/collector.log" >&2; exit 1; }

k=0
for node in r1 r2 r3 sink; do
    k=$((k + 1))
    start "exporter-$node" "$bin/exporter/ioam-exporter" --netns "$prefix-$node" \
        --collector "udp://127.0.0.1:$ipfix_port" --domain-id $((100 + k)) \
        --metrics-listen "127.0.0.1:$((metrics_port > 0 ? metrics_port + k - 1 : 0))"
done
# An exporter is ready once it joined the kernel's event group: it says so, and which port
# its /metrics got.
metrics_urls=()
for node in r1 r2 r3 sink; do
    for _ in $(seq 100); do grep -q "listening" "$logs/exporter-$node.log" && break; sleep 0.1; done
    grep -q "listening" "$logs/exporter-$node.log" || {
        echo "demo: exporter for $node did not start:" >&2; cat "$logs/exporter-$node.log" >&2; exit 1; }
    port=$(sed -n 's#.*metrics on http://.*(port \([0-9]*\)).*#\1#p' "$logs/exporter-$node.log")
    metrics_urls+=("$node http://127.0.0.1:$port/metrics")
done

probe=("ip" "netns" "exec" "$prefix-src" "$bin/probe/ioam-probe" fd00:0:0:4::2 --ns 123)
start probe-basic "${probe[@]}" --trace-type 0,1,2,3,5,6 --hops 4 --rate 20
start probe-wide "${probe[@]}" --trace-type 0,2,3,8,9,10 --hops 4 --rate 2
start probe-opaque "${probe[@]}" --icmp --trace-type 0,2,3,22 --opaque-octets 8 --hops 4 --rate 1

cat <<TXT
== running: source -> r1 (101) -> r2 (102) -> r3 (103) -> sink (104)
   Console:   http://$http/  (paths, per-segment delay and loss, latency over time, exporters)
   API:       http://$http/api/v1/paths   .../nodes   .../records?limit=5   .../exporters
   Metrics:   http://$http/metrics
   Exporters: $(printf '%s, ' "${metrics_urls[@]}" | sed 's/, $//')
   Store:     $db (SQLite)
   Logs:      $logs
   Ctrl-C to stop.
TXT

summary() { python3 scripts/demo-summary.py "$http"; }

start_s=$(date +%s)
while :; do
    sleep 5
    echo "== $(date +%T)"
    gone=$(dead | xargs)
    if [ -n "$gone" ]; then
        echo "   !! stopped: $gone (logs in $logs): the figures below miss their data"
    fi
    summary || echo "   (collector not answering)"
    if [ "$seconds" -gt 0 ] && [ $(( $(date +%s) - start_s )) -ge "$seconds" ]; then
        break
    fi
done
