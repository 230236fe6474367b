#!/usr/bin/env bash
# Installs every Debian 12 package the suite needs to build, test and run.
# Idempotent: apt-get skips what is already installed. The one list of packages:
# the Dockerfiles and CI use this script too.
set -euo pipefail

BUILD_PACKAGES=(
  build-essential cmake ninja-build pkg-config git clang-format
  libfixbuf-dev libglib2.0-dev libnl-3-dev libnl-genl-3-dev
  libboost1.81-dev nlohmann-json3-dev libsqlite3-dev libzstd-dev libspdlog-dev libfmt-dev libcli11-dev
  prometheus-cpp-dev
  # the ClickHouse back end: TLS (OpenSSL) and gzip (zlib)
  libssl-dev zlib1g-dev
  libgtest-dev libgmock-dev libbenchmark-dev
)
TEST_PACKAGES=(
  iproute2 iputils-ping tshark prometheus sqlite3 curl procps python3
  # tests/integration/correlation_test.py drops packets with nftables (no sch_netem here)
  nftables
  # scripts/fuzz.sh: libFuzzer targets (fuzz/) build with clang and its libFuzzer runtime
  clang libclang-rt-14-dev
  # tests/collector/store: the ClickHouse back end against a real server (label clickhouse)
  clickhouse-server
  # tests/collector/store: the test CA and certificates for TLS to ClickHouse
  openssl
  # scripts/bench-replay.sh compares the collector with nfcapd
  nfdump
  # kernel-patches/check.sh (it installs the linux-source-X.Y packages its series name)
  bc flex bison libelf-dev patch xz-utils
  # tests/deploy validates docker/compose.yaml
  docker-compose
  # tests/console loads the collector's web console in headless Chromium
  chromium
  # tests/packaging: the .debs installed into a debootstrap chroot; the man pages rendered
  debootstrap man-db
  # tests/deploy/container_test.sh builds and runs the images (runc: crun fails on hybrid cgroups)
  podman runc
)

# --build-only: what a build needs (the Dockerfiles' build stages).
if [ "${1:-}" = "--build-only" ]; then
  TEST_PACKAGES=()
fi

if [ "$(id -u)" -ne 0 ]; then
  SUDO=sudo
else
  SUDO=
fi

packages=("${BUILD_PACKAGES[@]}" ${TEST_PACKAGES[@]+"${TEST_PACKAGES[@]}"})
# Nothing to do when every package is installed: no index refresh on each demo or test run.
missing=$(dpkg-query -W -f='${Status} ${Package}\n' "${packages[@]}" 2>&1 |
    grep -vc '^install ok installed ' || true)
if [ "$missing" = 0 ]; then
    echo "install-deps: all ${#packages[@]} packages already installed"
    exit 0
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
# tshark asks whether non-root users may capture; answer it up front so the install never prompts.
echo "wireshark-common wireshark-common/install-setuid boolean false" | $SUDO debconf-set-selections
$SUDO apt-get install -y --no-install-recommends "${packages[@]}"
