#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine: installs, builds, and runs the collector on its
# embedded default store (SQLite), printing where to look. Ctrl-C stops it cleanly (SIGINT
# flushes the store). The multi-hop live demo replaces this once the topology lands.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release -DIOAM_BUILD_TESTS=OFF \
    -DIOAM_BUILD_BENCH=OFF
cmake --build build/release --target ioam-collector -j "$(nproc)"

db=${IOAM_DEMO_DB:-./ioam.db}
cat <<TXT
== ioam-collector
   IPFIX in:    udp+tcp [::]:4739
   Metrics:     http://127.0.0.1:9555/metrics
   API:         http://127.0.0.1:9555/api/v1/records
   Store:       $db (SQLite)
   Ctrl-C to stop.
TXT
exec build/release/collector/ioam-collector --db "$db"
