#!/usr/bin/env bash
# Benchmark (b) of the exporter: the highest IOAM event rate it carries without kernel drops,
# against a do-nothing listener (bench/kernel/null_listener.cpp) joined to the same group in
# the same namespace, in the same run; plus the exporter's CPU time and peak RSS.
#
# Usage (root): bench/kernel/exporter-rate.sh [BUILD_DIR] [PROBES_PER_STEP]
# Needs ioam-exporter, ioam-probe and ioam-null-listener built in BUILD_DIR (default
# build/release). Traffic stays in the namespaces of scripts/topology.sh and on 127.0.0.1.
set -Eeuo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
bin=$(cd "${1:-$repo/build/release}" && pwd)
probes=${2:-100000}
prefix="kb$(($$ % 100000))"
tmp=$(mktemp -d /tmp/ioam-rate.XXXXXX)
pids=()
[ "$(id -u)" -eq 0 ] || { echo "exporter-rate: needs root" >&2; exit 77; }

cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    bash "$repo/scripts/topology.sh" down "$prefix"
    rm -rf "$tmp"
}
trap cleanup EXIT

metric() {  # name -> value from the exporter's /metrics (sum over label sets)
    curl -sf "http://127.0.0.1:$mport/metrics" |
        awk -v m="$1" '$1 == m || index($1, m "{") == 1 { s += $2 } END { printf "%d", s }'
}

bash "$repo/scripts/topology.sh" up "$prefix" >/dev/null
# A discard receiver for the IPFIX, so that the exporter's sends succeed.
python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0)); print(s.getsockname()[1], flush=True)
while True: s.recv(65535)' >"$tmp/discard.port" &
pids+=($!)
sleep 0.5
dport=$(cat "$tmp/discard.port")
mport=$((20000 + $$ % 20000))
"$bin/exporter/ioam-exporter" --netns "$prefix-r1" --collector "udp://127.0.0.1:$dport" \
    --metrics-listen "127.0.0.1:$mport" --log-level warn >"$tmp/exporter.log" 2>&1 &
exporter=$!
pids+=($exporter)
sleep 1

echo "date: $(date -u +%FT%TZ); $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); kernel $(uname -r); load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-9s %-10s %-10s %-22s %-24s %-14s\n' "senders" "events/s" "sent" "null: events (drops)" \
    "exporter: events (drops)" "exp. CPU us/ev"
# One sender tops out near 35-40 k probes/s here; parallel senders at full speed push the
# kernel, the listeners and the exporter to the limit of the machine's two cores.
for senders in 1 2 4; do
    ip netns exec "$prefix-r1" "$bin/bench/kernel/ioam-null-listener" 2 >"$tmp/null.out" &
    null=$!
    until grep -q ready "$tmp/null.out"; do sleep 0.1; done
    ev0=$(metric ioam_exporter_events_total); dr0=$(metric ioam_exporter_kernel_drops_total)
    cpu0=$(awk '{print $14 + $15}' "/proc/$exporter/stat")
    t0=$(date +%s.%N)
    senders_pids=()
    for _ in $(seq "$senders"); do
        ip netns exec "$prefix-src" "$bin/probe/ioam-probe" fd00:0:0:4::2 --ns 123 \
            --trace-type 0,1,2,3 --hops 4 --rate 10000000 --count $((probes / senders)) \
            >>"$tmp/senders.out" &
        senders_pids+=($!)
    done
    wait "${senders_pids[@]}"
    t1=$(date +%s.%N)
    wait "$null"
    sleep 0.5
    ev=$(( $(metric ioam_exporter_events_total) - ev0 ))
    dr=$(( $(metric ioam_exporter_kernel_drops_total) - dr0 ))
    cpu_ticks=$(awk -v c0="$cpu0" '{print $14 + $15 - c0}' "/proc/$exporter/stat")
    read -r _ nev _ ndr < <(grep events "$tmp/null.out")
    sent=$(( (probes / senders) * senders ))
    printf '%-9s %-10s %-10s %-22s %-24s %-14s\n' "$senders" \
        "$(awk -v n="$nev" -v a="$t0" -v b="$t1" 'BEGIN{printf "%d", n / (b - a)}')" "$sent" \
        "$nev ($ndr)" "$ev ($dr)" \
        "$(awk -v t="$cpu_ticks" -v e="$ev" 'BEGIN{printf "%.2f", e ? t * 10000 / e : 0}')"
done
echo "exporter peak RSS: $(awk '/VmHWM/ {print $2, $3}' "/proc/$exporter/status")"
