#!/usr/bin/env bash
# container_test.sh SOURCE_DIR BINARY_DIR: builds both images with podman from a clean clone of
# SOURCE_DIR's HEAD and runs them:
#   collector  --network host with overridden flags (loopback ports): /readyz, /metrics and the
#              API answer; a replayed IPFIX stream (tests/data/ipfix) is stored in its volume
#   exporter   --cap-add NET_ADMIN in a test namespace of scripts/topology.sh (the node's
#              network, as --network host on a real node) while ioam-probe sends IOAM traffic
#              through it; exports to the collector container in that namespace, which counts it
# The base image debian:12 is made from the Debian mirror (debootstrap | podman import) when
# missing: no registry needed. podman runs with runc and ulimits no higher than this shell's
# (crun fails on hosts with a hybrid cgroup hierarchy). Minutes: ctest label "container".
# Needs root, podman, runc, debootstrap; exit 77 (ctest skip) without them.
set -euo pipefail

src=$1 bin=$2
skip() { echo "SKIPPED LOUDLY: $*" >&2; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || skip "needs root (podman, namespaces)"
for tool in podman runc debootstrap curl sqlite3 python3; do
  command -v "$tool" >/dev/null || skip "$tool not installed (scripts/install-deps.sh)"
done
probe=$bin/probe/ioam-probe
[ -x "$probe" ] || fail "$probe not built"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ioam-container-$$-XXXX")
tag=ioamtest$$
prefix=ct$(($$ % 100000))
containers=()
cleanup() {
  for c in "${containers[@]}"; do podman rm -f "$c" >/dev/null 2>&1 || true; done
  podman volume rm -f "$tag-data" >/dev/null 2>&1 || true
  podman rmi -f "localhost/$tag-collector" "localhost/$tag-exporter" >/dev/null 2>&1 || true
  kill "${probe_pid:-}" 2>/dev/null || true
  bash "$src/scripts/topology.sh" down "$prefix" >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT

# Containers may not raise a limit above this shell's (podman build's RUN steps ask for more);
# on the hosts tried, runc could not even set nproc to the shell's own limit, 4096 it could.
nproc=$(ulimit -Su)
[ "$nproc" != unlimited ] && [ "$nproc" -lt 4096 ] || nproc=4096
ulimits=("nofile=$(ulimit -Sn):$(ulimit -Sn)" "nproc=$nproc:$nproc")
cat >"$tmp/containers.conf" <<CONF
[containers]
default_ulimits = ["${ulimits[0]}", "${ulimits[1]}"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
export CONTAINERS_CONF=$tmp/containers.conf

if ! podman image exists docker.io/library/debian:12; then
  echo "== base image debian:12 from the Debian mirror"
  debootstrap --variant=minbase bookworm "$tmp/base" "${IOAM_DEBIAN_MIRROR:-http://deb.debian.org/debian}" \
    >"$tmp/debootstrap.log" 2>&1 || skip "debootstrap failed: $(tail -2 "$tmp/debootstrap.log")"
  tar -C "$tmp/base" -c . | podman import - docker.io/library/debian:12 >/dev/null
  rm -rf "$tmp/base"
fi

echo "== clean clone of $(git -C "$src" rev-parse --short HEAD)"
git clone -q --no-local "$src" "$tmp/src"
for image in collector exporter; do
  start=$(date +%s)
  # --layers=false: no intermediate images left behind (each run builds a new clone anyway).
  podman build -q --pull=never --layers=false --network host --ulimit "${ulimits[0]}" \
    --ulimit "${ulimits[1]}" -f "$tmp/src/docker/$image.Dockerfile" -t "localhost/$tag-$image" \
    "$tmp/src" >"$tmp/build-$image.log" 2>&1 ||
    { tail -30 "$tmp/build-$image.log" >&2; fail "podman build of $image failed"; }
  echo "built $image in $(( $(date +%s) - start )) s"
done

# Free loopback ports for the collector's HTTP and IPFIX/UDP.
read -r http_port udp_port < <(python3 -c '
import socket
s = [socket.socket(), socket.socket(type=socket.SOCK_DGRAM)]
for x in s: x.bind(("127.0.0.1", 0))
print(s[0].getsockname()[1], s[1].getsockname()[1])')
http=127.0.0.1:$http_port

echo "== collector: flags override the image's CMD"
podman volume create "$tag-data" >/dev/null
containers+=("$tag-collector")
podman run -d --name "$tag-collector" --network host -v "$tag-data:/var/lib/ioam-collector" \
  "localhost/$tag-collector" --http-listen "$http" --udp-listen "127.0.0.1:$udp_port" \
  --tcp-listen '' >/dev/null
for _ in $(seq 100); do curl -sf "http://$http/readyz" >/dev/null && break; sleep 0.1; done
curl -sf "http://$http/readyz" >/dev/null ||
  fail "collector not ready: $(podman logs "$tag-collector" 2>&1 | tail -5)"
curl -sf "http://$http/metrics" | grep -q '^ioam_' || fail "/metrics has no ioam_ series"

# Replays the recorded stream: one UDP datagram per IPFIX message.
python3 - "$src/tests/data/ipfix/ioam-4hop.ipfix" "$udp_port" <<'PY'
import socket, sys, time
data = open(sys.argv[1], "rb").read()
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
off = 0
while off < len(data):
    n = int.from_bytes(data[off + 2:off + 4], "big")
    s.sendto(data[off:off + n], ("127.0.0.1", int(sys.argv[2])))
    off += n
    time.sleep(0.0005)  # the collector's socket buffer, not a race
PY
records() { curl -sf "http://$http/api/v1/exporters" |
  python3 -c 'import json,sys; print(sum(e["records"] for e in json.load(sys.stdin)["exporters"]))'; }
for _ in $(seq 100); do [ "$(records)" -ge 4000 ] && break; sleep 0.1; done
[ "$(records)" -eq 4000 ] || fail "the API counts $(records) records of the replay, expected 4000"
podman stop -t 10 "$tag-collector" >/dev/null   # SIGTERM: every queued record is written
db=$(podman volume inspect "$tag-data" --format '{{.Mountpoint}}')/ioam.db
stored=$(sqlite3 "$db" 'SELECT coalesce(sum(count), 0) FROM blocks')
[ "$stored" -ge 2000 ] || fail "the volume's database holds $stored records"
echo "collector image: /readyz, /metrics, API answered; $stored records in the volume"

echo "== exporter: IOAM events of a test namespace to the collector container"
# The test namespace plays the IOAM node: both containers join it (what --network host is on a
# real node); entering it from the host namespace (--netns) would need CAP_SYS_ADMIN.
bash "$src/scripts/topology.sh" up "$prefix" >/dev/null
node=(--network "ns:/run/netns/$prefix-r1")
in_node() { ip netns exec "$prefix-r1" "$@"; }
containers+=("$tag-collector2" "$tag-exporter")
podman run -d --name "$tag-collector2" "${node[@]}" -v "$tag-data:/var/lib/ioam-collector" \
  "localhost/$tag-collector" --http-listen "$http" --udp-listen "127.0.0.1:$udp_port" \
  --tcp-listen '' >/dev/null
for _ in $(seq 100); do in_node curl -sf "http://$http/readyz" >/dev/null && break; sleep 0.1; done
podman run -d --name "$tag-exporter" "${node[@]}" --cap-add NET_ADMIN "localhost/$tag-exporter" \
  --collector "udp://127.0.0.1:$udp_port" --domain-id 77 >/dev/null
for _ in $(seq 100); do podman logs "$tag-exporter" 2>&1 | grep -q listening && break; sleep 0.1; done
podman logs "$tag-exporter" 2>&1 | grep -q listening ||
  fail "exporter did not join the event group: $(podman logs "$tag-exporter" 2>&1 | tail -5)"
ip netns exec "$prefix-src" "$probe" fd00:0:0:4::2 --ns 123 --trace-type 0,1,2,3 --hops 4 \
  --rate 50 --count 100 >/dev/null &
probe_pid=$!
domain77() { in_node curl -sf "http://$http/api/v1/exporters" | python3 -c '
import json, sys
print(sum(e["records"] for e in json.load(sys.stdin)["exporters"] if e["domain"] == 77))'; }
for _ in $(seq 100); do [ "$(domain77)" -ge 100 ] && break; sleep 0.1; done
[ "$(domain77)" -ge 100 ] || fail "collector got $(domain77) records from the exporter container"
echo "exporter image: $(domain77) records of namespace $prefix-r1 reached the collector container"
