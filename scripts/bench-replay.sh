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
# both daemons), DRAIN_TIMEOUT (s), RESULTS (also write the result table to this file),
# STORE (sqlite, the default, or clickhouse: a clickhouse-server of the script's own, from
# bench/clickhouse/server.xml.in on free loopback ports, its CPU per stored record in a row of
# its own), SHARDS (with STORE=clickhouse: 2 runs two collectors, each with its own server,
# the servers the two shards of a cluster, each collector sent the step's rate: the rows
# show the sums), NFCAPD (0: the collector's ladder alone), COLLECTOR_ARGS (more collector
# options, split on spaces, e.g. "--queue-size 262144").
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-${BUILD_DIR:-$ROOT/build/dev}}
RATES=${RATES:-5000 10000 20000 40000 80000 120000 140000 160000 200000 240000 320000}
DURATION=${DURATION:-5}
RECORDING=${RECORDING:-$ROOT/tests/data/ipfix/ioam-4hop.ipfix}
RCVBUF=${RCVBUF:-4194304}
DRAIN_TIMEOUT=${DRAIN_TIMEOUT:-30}
RESULTS=${RESULTS:-}
STORE=${STORE:-sqlite}
NFCAPD=${NFCAPD:-1}
SHARDS=${SHARDS:-1}
read -ra COLLECTOR_ARGS <<<"${COLLECTOR_ARGS:-}"
case $STORE in sqlite | clickhouse) ;; *) echo "bench-replay: STORE is sqlite or clickhouse" >&2; exit 1 ;; esac
case $STORE/$SHARDS in */1 | clickhouse/2) ;; *) echo "bench-replay: SHARDS=2 needs STORE=clickhouse" >&2; exit 1 ;; esac

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
if [ "$NFCAPD" != 0 ] && ! command -v nfcapd >/dev/null || ! command -v nfdump >/dev/null; then
  [ "$(id -u)" -eq 0 ] || die "nfdump is missing (apt-get install nfdump)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nfdump >/dev/null
fi

TMP=$(mktemp -d /tmp/bench-replay.XXXXXX)
COLLECTOR_PIDS=()
NFCAPD_PID=
REPLAY_PIDS=()
CLICKHOUSE_PIDS=()
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
  local pid
  for pid in "${REPLAY_PIDS[@]}" "${COLLECTOR_PIDS[@]}" "$NFCAPD_PID" "${CLICKHOUSE_PIDS[@]}"; do
    stop "$pid"
  done
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

# "rx_queue_octets drops" of the UDP sockets bound to local ports $@ (/proc/net/udp, udp6).
socket_stat() {
  local port hex rx=0 drops=0 sl local_addr rem st queues rest
  for port in "$@"; do
    hex=$(printf ':%04X' "$port")
    while read -r sl local_addr rem st queues rest; do
      [ "${local_addr: -5}" = "$hex" ] || continue
      rx=$((rx + 16#${queues#*:}))
      drops=$((drops + ${rest##* }))
    done < <(tail -q -n +2 /proc/net/udp /proc/net/udp6)
  done
  echo "$rx $drops"
}

# Of processes $@ together.
cpu_ticks() { printf '/proc/%s/stat\n' "$@" | xargs awk '{ s += $14 + $15 } END { print s }'; }
# "tid name ticks" of every thread of processes $@ (the collector names its threads).
thread_ticks() {
  local pid t
  for pid in "$@"; do
    for t in /proc/"$pid"/task/*; do
      echo "${t##*/} $(tr -c '[:alnum:]-\n' _ <"$t/comm") $(awk '{ print $14 + $15 }' "$t/stat")"
    done 2>/dev/null
  done
}
# "name seconds" of each thread that used CPU between two thread_ticks snapshots ($1, $2).
thread_cpu() {
  awk 'NR == FNR { a[$1] = $3; next } { print $1, $2, $3 - a[$1] }' <(echo "$1") <(echo "$2") |
    sort -n |
    awk -v t="$TICK" '$3 > 0 { s = s (s ? " + " : "") $2 " " sprintf("%.2f", $3 / t) }
      END { printf "%s", s }'
}
peak_rss_kb() { printf '/proc/%s/status\n' "$@" | xargs awk '/^VmHWM:/ { s += $2 } END { print s }'; }
load1() { cut -d' ' -f1 /proc/loadavg; }

# Rows in the collector's database: what it really stored, counted read-only (retention is off
# so that no row is removed during the ladder: the recording's times are older than the
# default --retention-age, and its first run would delete part of a step's rows).
stored_rows() {
  if [ "$STORE" = clickhouse ]; then  # each server's own (local) table
    local port n=0
    for port in "${CH_HTTP_PORTS[@]}"; do
      n=$((n + $(clickhouse_sql "$port" 'SELECT count() FROM bench.records')))
    done
    echo "$n"
    return
  fi
  python3 -c 'import sqlite3, sys
db = sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True)
print(db.execute("SELECT coalesce(sum(count), 0) FROM blocks").fetchone()[0])' "$TMP/ioam.db"
}

# Sum of every series of metric $1 in the collectors' /metrics.
metric() {
  local port
  for port in "${HTTP_PORTS[@]}"; do
    curl -sf "http://127.0.0.1:$port/metrics"
  done | awk -v m="$1" '$1 == m || index($1, m "{") == 1 { s += $NF } END { printf "%.0f\n", s }'
}

# Waits (bounded) until the sockets on ports $@ have nothing queued.
drain_socket() {
  local deadline=$((SECONDS + DRAIN_TIMEOUT))
  while [ "$(socket_stat "$@" | cut -d' ' -f1)" -ne 0 ] && [ $SECONDS -lt $deadline ]; do
    sleep 0.2
  done
}

# "total s (per thread s), per record us" from ticks $1, records $2, thread list $3.
cpu_cell() {
  awk -v c="$1" -v t="$TICK" -v n="$2" -v th="$3" \
    'BEGIN { printf "%.2f s (%s), %.2f us", c / t, th, n ? c / t / n * 1e6 : 0 }'
}

# Replays at rate $1 to each of ports $2...; the replayers' result lines, summed, go to $out.
# In the background, so that a signal ends the script at once (wait returns on a trapped
# signal).
replay() {
  local rate=$1 port pid
  shift
  for port in "$@"; do
    "$REPLAY" -f "$RECORDING" -p "$port" -r "$rate" -d "$DURATION" >"$TMP/replay-$port.out" &
    REPLAY_PIDS+=($!)
  done
  for pid in "${REPLAY_PIDS[@]}"; do
    wait "$pid"
  done
  REPLAY_PIDS=()
  out=$(for port in "$@"; do cat "$TMP/replay-$port.out"; done | awk '{
      for (i = 1; i <= NF; i++) { split($i, kv, "="); s[kv[1]] += kv[2] }
    } END {
      printf "sent_messages=%d sent_records=%d send_errors=%d rate=%d\n",
        s["sent_messages"], s["sent_records"], s["send_errors"], s["rate"]
    }')
  RECORDS_PER_MESSAGE=$(awk -v r="$(value sent_records "$out")" -v m="$(value sent_messages "$out")" \
    'BEGIN { printf "%.4f", m ? r / m : 0 }')
}

value() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" <<<"$2"; }

clickhouse_sql() { curl -sf "http://127.0.0.1:$1/" --data-binary "$2"; }  # HTTP port, SQL

TICK=$(getconf CLK_TCK)
NF_PORT=$(free_port SOCK_DGRAM)
UDP_PORTS=()
HTTP_PORTS=()
CH_HTTP_PORTS=()
CH_TCP_PORTS=()
for i in $(seq "$SHARDS"); do
  UDP_PORTS+=("$(free_port SOCK_DGRAM)")
  HTTP_PORTS+=("$(free_port SOCK_STREAM)")
  CH_HTTP_PORTS+=("$(free_port SOCK_STREAM)")
  CH_TCP_PORTS+=("$(free_port SOCK_STREAM)")
done

# Server $1 (1, 2, ...): its directory, configuration (with the cluster "ioam" of every
# server's TCP port when there are several) and process; waits until it answers.
start_clickhouse() {
  local dir="$TMP/clickhouse-$1" http=${CH_HTTP_PORTS[$1 - 1]} cluster="" port
  if [ "$SHARDS" -gt 1 ]; then
    cluster="<remote_servers><ioam>"
    for port in "${CH_TCP_PORTS[@]}"; do
      cluster+="<shard><replica><host>127.0.0.1</host><port>$port</port></replica></shard>"
    done
    cluster+="</ioam></remote_servers>"
  fi
  mkdir -p "$dir"
  sed -e "s|@DIR@|$dir|g" -e "s/@HTTP@/$http/" -e "s/@TCP@/${CH_TCP_PORTS[$1 - 1]}/" \
    -e "s/@INTERSERVER@/$(free_port SOCK_STREAM)/" -e "s|@CLUSTER@|$cluster|" \
    "$ROOT/bench/clickhouse/server.xml.in" >"$dir/config.xml"
  (cd "$dir" && PATH=$PATH:/usr/sbin exec clickhouse-server --config-file="$dir/config.xml") \
    >"$dir/server.log" 2>&1 &
  CLICKHOUSE_PIDS+=($!)
  for _ in $(seq 150); do
    [ "$(curl -sf "http://127.0.0.1:$http/ping")" = Ok. ] && break
    sleep 0.2
  done
  [ "$(curl -sf "http://127.0.0.1:$http/ping")" = Ok. ] ||
    die "clickhouse-server did not start: $(tail -n 5 "$dir/server.log")"
}

if [ "$STORE" = clickhouse ]; then
  command -v clickhouse-server >/dev/null || [ -x /usr/sbin/clickhouse-server ] ||
    die "clickhouse-server is missing (apt-get install clickhouse-server)"
fi
for i in $(seq "$SHARDS"); do
  store=$TMP/ioam.db
  if [ "$STORE" = clickhouse ]; then
    start_clickhouse "$i"
    store=clickhouse://127.0.0.1:${CH_HTTP_PORTS[$i - 1]}/bench
    [ "$SHARDS" -eq 1 ] || store+="?cluster=ioam&collector=$i"
  fi
  http=${HTTP_PORTS[$i - 1]}
  "$COLLECTOR" --udp-listen "127.0.0.1:${UDP_PORTS[$i - 1]}" --tcp-listen '' \
    --http-listen "127.0.0.1:$http" --store "$store" --retention-size 0 --retention-age 0 \
    --udp-receive-buffer "$RCVBUF" --log-level warn "${COLLECTOR_ARGS[@]}" >"$TMP/collector-$i.log" 2>&1 &
  COLLECTOR_PIDS+=($!)
  for _ in $(seq 50); do
    curl -sf "http://127.0.0.1:$http/healthz" >/dev/null && break
    sleep 0.2
  done
  curl -sf "http://127.0.0.1:$http/healthz" >/dev/null || die "collector did not start"
done

ROWS=()
row() { ROWS+=("$(printf '| %s ' "$@")|"); echo "${ROWS[-1]}"; }

# One step of the long-running collector at rate $1: prints and keeps a row; false unless
# lossless.
collector_step() {
  local rate=$1 d0 d1 m0 r0 q0 w0 s0 c0 t0 h0 out sent recs errs achieved rx
  read -r _ d0 < <(socket_stat "${UDP_PORTS[@]}")
  m0=$(metric ioam_collector_udp_kernel_drops_total)
  r0=$(metric ioam_collector_ipfix_records_total)
  q0=$(metric ioam_collector_store_dropped_total)
  w0=$(metric ioam_collector_store_written_total)
  s0=$(stored_rows)
  c0=$(cpu_ticks "${COLLECTOR_PIDS[@]}")
  t0=$(thread_ticks "${COLLECTOR_PIDS[@]}")
  [ "$STORE" != clickhouse ] || h0=$(cpu_ticks "${CLICKHOUSE_PIDS[@]}")
  replay "$rate" "${UDP_PORTS[@]}"
  sent=$(value sent_messages "$out"); recs=$(value sent_records "$out")
  errs=$(value send_errors "$out"); achieved=$(value rate "$out")
  drain_socket "${UDP_PORTS[@]}"
  local deadline=$((SECONDS + DRAIN_TIMEOUT)) seen=-1 now
  # Everything ingested is committed (or counted as dropped) before the rows are counted, and
  # ingest has stopped moving (the receive thread may still hold datagrams the socket had).
  while now=$(metric ioam_collector_ipfix_records_total) && [ $SECONDS -lt $deadline ]; do
    [ "$now" -ne "$seen" ] || [ $(($(metric ioam_collector_store_written_total) - w0 + \
      $(metric ioam_collector_store_dropped_total) - q0)) -lt $((now - r0)) ] || break
    seen=$now
    sleep 0.3
  done
  read -r rx d1 < <(socket_stat "${UDP_PORTS[@]}")
  local drops=$((d1 - d0)) mdrops=$(($(metric ioam_collector_udp_kernel_drops_total) - m0))
  local ingested=$(($(metric ioam_collector_ipfix_records_total) - r0))
  local qdrops=$(($(metric ioam_collector_store_dropped_total) - q0))
  local stored=$(($(stored_rows) - s0))
  local cpu=$(($(cpu_ticks "${COLLECTOR_PIDS[@]}") - c0)) threads
  threads=$(thread_cpu "$t0" "$(thread_ticks "${COLLECTOR_PIDS[@]}")")
  local lossless
  lossless=$(verdict $((rate * SHARDS)) "$achieved" $((drops + mdrops + errs)) "$stored" "$recs")
  row ioam-collector $((rate * SHARDS)) "$achieved" "$sent" "$recs" "$drops/$mdrops" "$ingested" \
    "$stored (queue drops $qdrops)" \
    "$(cpu_cell "$cpu" "$stored" "$threads")" \
    "$(($(peak_rss_kb "${COLLECTOR_PIDS[@]}") / 1024))" "$(load1)" "$lossless"
  if [ "$STORE" = clickhouse ]; then  # from the first record sent to the last one counted
    row clickhouse-server $((rate * SHARDS)) "$achieved" "$sent" "$recs" - - "$stored (rows)" \
      "$(cpu_cell $(($(cpu_ticks "${CLICKHOUSE_PIDS[@]}") - h0)) "$stored" server)" \
      "$(($(peak_rss_kb "${CLICKHOUSE_PIDS[@]}") / 1024))" "$(load1)" "$lossless"
  fi
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
  replay "$rate" "$NF_PORT"
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
echo "# $(date -u '+%Y-%m-%d %H:%M UTC') $(nproc) CPUs, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n 1), kernel $(uname -r), store $STORE$([ "$SHARDS" -eq 1 ] || echo " ($SHARDS shards, a collector each)")$([ "$NFCAPD" = 0 ] || echo ", $(nfcapd -V)")"
echo "# recording $RECORDING: ${DURATION} s per step, SO_RCVBUF $RCVBUF, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "$HEADER"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
COLLECTOR_ON=1
NFCAPD_ON=$([ "$NFCAPD" != 0 ] && echo 1 || echo 0)
BEST_COLLECTOR=0
BEST_NFCAPD=0
RECORDS_PER_MESSAGE=0  # of the recording, from the replayer's counts (the issue's rates are records/s)
for rate in $RATES; do
  if [ $COLLECTOR_ON -eq 1 ]; then
    if collector_step "$rate"; then BEST_COLLECTOR=$rate; else COLLECTOR_ON=0; fi
  fi
  if [ $NFCAPD_ON -eq 1 ]; then
    if nfcapd_step "$rate"; then BEST_NFCAPD=$rate; else NFCAPD_ON=0; fi
  fi
  [ $COLLECTOR_ON -eq 1 ] || [ $NFCAPD_ON -eq 1 ] || break
done
records_per_s() { awk -v m="$1" -v k="$RECORDS_PER_MESSAGE" 'BEGIN { printf "%.0f", m * k }'; }
SUMMARY="Highest lossless rate: ioam-collector $BEST_COLLECTOR msg/s ($(records_per_s "$BEST_COLLECTOR") records/s), nfcapd $BEST_NFCAPD msg/s ($(records_per_s "$BEST_NFCAPD") records/s) (0 = none; $RECORDS_PER_MESSAGE records per message)"
echo "$SUMMARY"
if [ -n "$RESULTS" ]; then
  printf '%s\n' "$HEADER" "|---|---|---|---|---|---|---|---|---|---|---|---|" "${ROWS[@]}" "" \
    "$SUMMARY" >"$RESULTS"
fi
