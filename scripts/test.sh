#!/usr/bin/env bash
# Installs, builds and passes every test on a fresh Debian 12 machine (run as root for the
# kernel tests; without root they report SKIPPED). This is README's test command and the only
# thing .ci/run calls.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)

bash scripts/install-deps.sh

echo "== format check"
git ls-files '*.cpp' '*.hpp' '*.h' ':!kernel-patches' | xargs -r clang-format --dry-run -Werror

jobs=$(nproc)
echo "== build (warnings as errors)"
cmake -S . -B build/ci -G Ninja -DIOAM_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build/ci -j "$jobs"
echo "== tests"
# The container label (podman builds both images from a clean clone, ~3 min) runs apart:
# ctest --test-dir build/dev -L container
ctest --test-dir build/ci --output-on-failure -j "$jobs" -LE container

echo "== unit tests under ASan+UBSan"
cmake -S . -B build/asan -G Ninja -DIOAM_WERROR=ON -DIOAM_SANITIZE=ON -DIOAM_BUILD_BENCH=OFF \
    -DCMAKE_BUILD_TYPE=Debug
cmake --build build/asan -j "$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --test-dir build/asan -L unit --output-on-failure -j "$jobs"

echo "== fuzz smoke (libFuzzer, ASan+UBSan)"
bash scripts/fuzz.sh --smoke

echo "== kernel patch series: apply to the Debian sources, checkpatch, W=1 build"
bash kernel-patches/check.sh

echo "== double reallocation on Linux 6.1 in QEMU, measured against ioam-realloc-calc"
REALLOC_CALC="$PWD/build/ci/tools/realloc-calc/ioam-realloc-calc" \
    bash kernel-patches/qemu/run-realloc-test.sh

echo "== IOAM DEX series on Linux 6.12 in QEMU: DEX nodes -> ioam-exporter -> ioam-collector"
DEX_QEMU_BIN="$PWD/build/ci" bash kernel-patches/qemu/run-dex-test.sh

echo "== all tests passed in $(( $(date +%s) - start )) s"
