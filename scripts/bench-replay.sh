#!/usr/bin/env bash
# Collector replay benchmark (issue 4): replays a recorded IOAM IPFIX stream over loopback UDP at
# rising rates into ioam-collector and into nfcapd (Debian nfdump), alternating per rate so both
# see the same machine load, and reports per step: kernel socket drops, records ingested, records
# stored (the collector's database rows counted, nfdump's records read back), CPU per stored
# record, peak RSS and the load average. Each daemon's ladder stops at its first step that does
# not store every record sent.
# A benchmark, not a test: nothing is asserted. Results: docs/benchmarks.md.
#
# Usage: scripts/bench-replay.sh [BUILD_DIR]      (default build/dev; needs ioam-collector and
#        ioam-replay built there: cmake --build BUILD_DIR --target ioam-collector ioam-replay)
# Environment: RATES (messages/s, rising), DURATION (s per step), RECORDING, RCVBUF (octets,
# both daemons), DRAIN_TIMEOUT (s), RESULTS (also write the result table to this file).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-${BUILD_DIR:-$ROOT/build/dev}}
RATES=${RATES:-5000 10000 15000 20000 30000 40000 60000 80000 120000 160000}
DURATION=${DURATION:-5}
RECORDING=${RECORDING:-$ROOT/tests/data/ipfix/ioam-4hop.ipfix}
RCVBUF=${RCVBUF:-4194304}
DRAIN_TIMEOUT=${DRAIN_TIMEOUT:-30}
RESULTS=${RESULTS:-}

die() { echo "bench-replay: $*" >&2; exit 1; }

find_binary() {
  local found
  found=$(find "$BUILD" -maxdepth 4 -type f -name "$1" -perm -u+x 2>/dev/null | head -n 1)
  [ -n "$found" ] || die "$1 not found under $BUILD (build it first)"
  echo "$found"
}
COLLECTOR=$(find_binary ioam-collector)
REPLAY=$(find_binary ioam-replay)
[ -r "$RECORDING" ] || die "no recording at $RECORDING"
if ! command -v nfcapd >/dev/null || ! command -v nfdump >/dev/null; then
  [ "$(id -u)" -eq 0 ] || die "nfdump is missing (apt-get install nfdump)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nfdump >/dev/null
fi

TMP=$(mktemp -d /tmp/bench-replay.XXXXXX)
COLLECTOR_PID=
NFCAPD_PID=
REPLAY_PID=
stop() {  # pid: SIGTERM, then SIGKILL after 10 s
  local pid=$1 i
  [ -n "$pid" ] || return 0
  kill "$pid" 2>/dev/null || return 0
  for i in $(seq 50); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  stop "$REPLAY_PID"
  stop "$COLLECTOR_PID"
  stop "$NFCAPD_PID"
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {  # SOCK_DGRAM or SOCK_STREAM
  python3 -c 'import socket, sys
s = socket.socket(socket.AF_INET, getattr(socket, sys.argv[1]))
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])' "$1"
}

# "rx_queue_octets drops" of the UDP socket bound to local port $1 (/proc/net/udp, udp6).
socket_stat() {
  local hex rx=0 drops=0 sl local_addr rem st queues rest
  hex=$(printf ':%04X' "$1")
  while read -r sl local_addr rem st queues rest; do
    [ "${local_addr: -5}" = "$hex" ] || continue
    rx=$((rx + 16#${queues#*:}))
    drops=$((drops + ${rest##* }))
  done < <(tail -q -n +2 /proc/net/udp /proc/net/udp6)
  echo "$rx $drops"
}

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
# "tid name ticks" of every thread of process $1 (the collector names its threads).
thread_ticks() {
  local t
  for t in /proc/"$1"/task/*; do
    echo "${t##*/} $(tr -c '[:alnum:]-\n' _ <"$t/comm") $(awk '{ print $14 + $15 }' "$t/stat")"
  done 2>/dev/null
}
# "name seconds" of each thread that used CPU between two thread_ticks snapshots ($1, $2).
thread_cpu() {
  awk 'NR == FNR { a[$1] = $3; next } { print $1, $2, $3 - a[$1] }' <(echo "$1") <(echo "$2") |
    sort -n |
    awk -v t="$TICK" '$3 > 0 { s = s (s ? " + " : "") $2 " " sprintf("%.2f", $3 / t) }
      END { printf "%s", s }'
}
peak_rss_kb() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"; }
load1() { cut -d' ' -f1 /proc/loadavg; }

# Rows in the collector's database: what it really stored, counted read-only (size retention is
# off so that no row is removed during the ladder).
stored_rows() {
  python3 -c 'import sqlite3, sys
db = sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True)
print(db.execute("SELECT coalesce(sum(count), 0) FROM blocks").fetchone()[0])' "$TMP/ioam.db"
}

# Sum of every series of metric $1 in the collector's /metrics.
metric() {
  curl -sf "http://127.0.0.1:$HTTP_PORT/metrics" |
    awk -v m="$1" '$1 == m || index($1, m "{") == 1 { s += $NF } END { printf "%.0f\n", s }'
}

# Waits (bounded) until the socket on port $1 has nothing queued.
drain_socket() {
  local deadline=$((SECONDS + DRAIN_TIMEOUT))
  while [ "$(socket_stat "$1" | cut -d' ' -f1)" -ne 0 ] && [ $SECONDS -lt $deadline ]; do
    sleep 0.2
  done
}

# "total s (per thread s), per record us" from ticks $1, records $2, thread list $3.
cpu_cell() {
  awk -v c="$1" -v t="$TICK" -v n="$2" -v th="$3" \
    'BEGIN { printf "%.2f s (%s), %.2f us", c / t, th, n ? c / t / n * 1e6 : 0 }'
}

# Replays to port $1 at rate $2; the replayer's result line goes to $out. In the background, so
# that a signal ends the script at once (wait returns on a trapped signal).
replay() {
  "$REPLAY" -f "$RECORDING" -p "$1" -r "$2" -d "$DURATION" >"$TMP/replay.out" &
  REPLAY_PID=$!
  wait "$REPLAY_PID"
  REPLAY_PID=
  out=$(cat "$TMP/replay.out")
}

value() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" <<<"$2"; }

TICK=$(getconf CLK_TCK)
UDP_PORT=$(free_port SOCK_DGRAM)
HTTP_PORT=$(free_port SOCK_STREAM)
NF_PORT=$(free_port SOCK_DGRAM)

"$COLLECTOR" --udp-listen "127.0.0.1:$UDP_PORT" --tcp-listen '' \
  --http-listen "127.0.0.1:$HTTP_PORT" --db "$TMP/ioam.db" --retention-size 0 --udp-receive-buffer "$RCVBUF" \
  --log-level warn >"$TMP/collector.log" 2>&1 &
COLLECTOR_PID=$!
for _ in $(seq 50); do
  curl -sf "http://127.0.0.1:$HTTP_PORT/healthz" >/dev/null && break
  sleep 0.2
done
curl -sf "http://127.0.0.1:$HTTP_PORT/healthz" >/dev/null || die "collector did not start"

ROWS=()
row() { ROWS+=("$(printf '| %s ' "$@")|"); echo "${ROWS[-1]}"; }

# One step of the long-running collector at rate $1: prints and keeps a row; false unless
# lossless.
collector_step() {
  local rate=$1 d0 d1 m0 r0 q0 w0 s0 c0 t0 out sent recs errs achieved rx
  read -r _ d0 < <(socket_stat "$UDP_PORT")
  m0=$(metric ioam_collector_udp_kernel_drops_total)
  r0=$(metric ioam_collector_ipfix_records_total)
  q0=$(metric ioam_collector_store_dropped_total)
  w0=$(metric ioam_collector_store_written_total)
  s0=$(stored_rows)
  c0=$(cpu_ticks "$COLLECTOR_PID")
  t0=$(thread_ticks "$COLLECTOR_PID")
  replay "$UDP_PORT" "$rate"
  sent=$(value sent_messages "$out"); recs=$(value sent_records "$out")
  errs=$(value send_errors "$out"); achieved=$(value rate "$out")
  drain_socket "$UDP_PORT"
  local deadline=$((SECONDS + DRAIN_TIMEOUT))
  # Everything ingested is committed (or counted as dropped) before the rows are counted.
  while [ $(($(metric ioam_collector_store_written_total) - w0 + \
      $(metric ioam_collector_store_dropped_total) - q0)) -lt \
      $(($(metric ioam_collector_ipfix_records_total) - r0)) ] && [ $SECONDS -lt $deadline ]; do
    sleep 0.2
  done
  read -r rx d1 < <(socket_stat "$UDP_PORT")
  local drops=$((d1 - d0)) mdrops=$(($(metric ioam_collector_udp_kernel_drops_total) - m0))
  local ingested=$(($(metric ioam_collector_ipfix_records_total) - r0))
  local qdrops=$(($(metric ioam_collector_store_dropped_total) - q0))
  local stored=$(($(stored_rows) - s0))
  local cpu=$(($(cpu_ticks "$COLLECTOR_PID") - c0)) threads
  threads=$(thread_cpu "$t0" "$(thread_ticks "$COLLECTOR_PID")")
  local lossless
  lossless=$(verdict "$rate" "$achieved" $((drops + mdrops + errs)) "$stored" "$recs")
  row ioam-collector "$rate" "$achieved" "$sent" "$recs" "$drops/$mdrops" "$ingested" \
    "$stored (queue drops $qdrops)" \
    "$(cpu_cell "$cpu" "$stored" "$threads")" \
    "$(($(peak_rss_kb "$COLLECTOR_PID") / 1024))" "$(load1)" "$lossless"
  [ "$lossless" = yes ]
}

# "yes", "no", or "sender-limited" (no loss, but the replayer fell more than 2% short of the
# rate, so higher steps would measure the sender): rate achieved losses received sent.
verdict() {
  if [ "$3" -ne 0 ] || [ "$4" -ne "$5" ]; then
    echo no
  elif awk -v t="$1" -v a="$2" 'BEGIN { exit !(a >= 0.98 * t) }'; then
    echo yes
  else
    echo sender-limited
  fi
}

# One nfcapd step at rate $1, on a fresh nfcapd so its stored records are this step's.
nfcapd_step() {
  local rate=$1 dir="$TMP/nfcapd-$1" d0 d1 c0 t0 cpu threads out sent recs errs achieved rss
  mkdir -p "$dir"
  nfcapd -b 127.0.0.1 -p "$NF_PORT" -w "$dir" -B "$RCVBUF" -t 3600 -I replay \
    >"$TMP/nfcapd.log" 2>&1 &
  NFCAPD_PID=$!
  for _ in $(seq 50); do
    grep -qi "$(printf ':%04X ' "$NF_PORT")" /proc/net/udp && break
    sleep 0.2
  done
  read -r _ d0 < <(socket_stat "$NF_PORT")
  c0=$(cpu_ticks "$NFCAPD_PID")
  t0=$(thread_ticks "$NFCAPD_PID")
  replay "$NF_PORT" "$rate"
  sent=$(value sent_messages "$out"); recs=$(value sent_records "$out")
  errs=$(value send_errors "$out"); achieved=$(value rate "$out")
  drain_socket "$NF_PORT"
  sleep 0.5
  read -r _ d1 < <(socket_stat "$NF_PORT")
  cpu=$(($(cpu_ticks "$NFCAPD_PID") - c0))
  threads=$(thread_cpu "$t0" "$(thread_ticks "$NFCAPD_PID")")
  rss=$(peak_rss_kb "$NFCAPD_PID")
  stop "$NFCAPD_PID"
  NFCAPD_PID=
  local stored drops=$((d1 - d0)) lossless
  stored=$(nfdump -R "$dir" -q 2>/dev/null | wc -l)
  rm -rf "$dir"
  lossless=$(verdict "$rate" "$achieved" $((drops + errs)) "$stored" "$recs")
  row nfcapd "$rate" "$achieved" "$sent" "$recs" "$drops" "$stored" "$stored (files)" \
    "$(cpu_cell "$cpu" "$stored" "$threads")" \
    "$((rss / 1024))" "$(load1)" "$lossless"
  [ "$lossless" = yes ]
}

HEADER="| daemon | target msg/s | sent msg/s | messages | records sent | socket drops (/proc / metric) | records ingested | records stored | CPU s (threads), per stored record | peak RSS MiB | load 1m | lossless |"
echo "# $(date -u '+%Y-%m-%d %H:%M UTC') $(nproc) CPUs, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n 1), kernel $(uname -r), $(nfcapd -V)"
echo "# recording $RECORDING: ${DURATION} s per step, SO_RCVBUF $RCVBUF, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "$HEADER"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
COLLECTOR_ON=1
NFCAPD_ON=1
BEST_COLLECTOR=0
BEST_NFCAPD=0
for rate in $RATES; do
  if [ $COLLECTOR_ON -eq 1 ]; then
    if collector_step "$rate"; then BEST_COLLECTOR=$rate; else COLLECTOR_ON=0; fi
  fi
  if [ $NFCAPD_ON -eq 1 ]; then
    if nfcapd_step "$rate"; then BEST_NFCAPD=$rate; else NFCAPD_ON=0; fi
  fi
  [ $COLLECTOR_ON -eq 1 ] || [ $NFCAPD_ON -eq 1 ] || break
done
SUMMARY="Highest lossless rate (msg/s): ioam-collector $BEST_COLLECTOR, nfcapd $BEST_NFCAPD (0 = none)"
echo "$SUMMARY"
if [ -n "$RESULTS" ]; then
  printf '%s\n' "$HEADER" "|---|---|---|---|---|---|---|---|---|---|---|---|" "${ROWS[@]}" "" \
    "$SUMMARY" >"$RESULTS"
fi
