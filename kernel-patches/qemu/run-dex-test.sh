#!/usr/bin/env bash
# End-to-end test of the IOAM DEX series (kernel-patches/linux-6.12-dex) in a QEMU virtual
# machine, software emulation (no KVM needed):
#   1. builds a tinyconfig-based Linux 6.12 with the series applied (Debian linux-source-6.12),
#   2. builds ioam-exporter, ioam-collector and ioam-dex-route from this repository (or takes
#      them from an existing build folder, DEX_QEMU_BIN),
#   3. packs them with busybox, bash, iproute2, the test helper and the series' selftest
#      (tools/testing/selftests/net/ioam6_dex.sh and its helper) into an initramfs,
#   4. boots it; the guest (dex-vm-init.sh) runs sender -> encap -> transit -> decap -> receiver
#      in network namespaces and checks DEX events, header removal, PTO, the flow table, and the
#      collector's DEX flow view (path, segment delays, loss between two nodes), then runs the
#      selftest.
# Exits 0 when every guest check passed, non-zero otherwise; prints a summary either way.
#
# Usage: bash kernel-patches/qemu/run-dex-test.sh [--kernel-only]
# Env:   DEX_QEMU_WORK     work folder (default: build/qemu-dex under the repository)
#        DEX_QEMU_JOBS     make/ninja jobs (default: 2)
#        DEX_QEMU_TIMEOUT  seconds the guest may run (default: 900)
#        DEX_QEMU_BIN      CMake build folder holding the three programs (e.g. build/ci), used
#                          instead of a Release build in the work folder
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
work=${DEX_QEMU_WORK:-$repo/build/qemu-dex}
jobs=${DEX_QEMU_JOBS:-2}
guest_timeout=${DEX_QEMU_TIMEOUT:-900}
series=$repo/kernel-patches/linux-6.12-dex
kver=6.12
kbuild=$work/kbuild
tree=$work/linux-source-$kver
selftest=tools/testing/selftests/net/ioam6_dex
qemu_name=dex-qemu
# shellcheck source=kernel-patches/qemu/qemu-lib.sh
. "$here/qemu-lib.sh"

# Kernel options on top of tinyconfig: what the guest test needs, and the cheap debug checks
# (sleeping in atomic context, lockdep, RCU usage) whose reports the guest looks for.
kernel_options=(
    "${guest_base_options[@]}"
    DEBUG_KERNEL DEBUG_ATOMIC_SLEEP PROVE_LOCKING PROVE_RCU
)

bin=${DEX_QEMU_BIN:-$work/cmake}

build_userspace() {
    if [ -z "${DEX_QEMU_BIN:-}" ]; then
        build_cmake_targets ioam-exporter ioam-collector ioam-dex-route
    fi
    build_static_helper "$here/dex-vm-probe.c" "$work/dex-vm-probe"
    # the selftest's helper needs the series' uapi headers
    make -s -C "$tree" O="$kbuild" ARCH=x86_64 headers >/dev/null || fail "uapi headers"
    build_static_helper "$tree/$selftest.c" "$work/ioam6_dex" -I"$kbuild/usr/include"
}

build_initramfs() {
    step "initramfs"
    local root=$work/initramfs
    initramfs_root "$root" "$here/dex-vm-init.sh"
    install_program "$root" "$bin/exporter/ioam-exporter" ioam-exporter
    install_program "$root" "$bin/collector/ioam-collector" ioam-collector
    install_program "$root" "$bin/tools/dex-route/ioam-dex-route" ioam-dex-route
    install -m 0755 "$work/dex-vm-probe" "$root/usr/bin/dex-vm-probe"
    install_program "$root" "$(command -v bash)" bash
    install -D -m 0755 "$tree/$selftest.sh" "$root/selftests/net/ioam6_dex.sh"
    install -m 0755 "$work/ioam6_dex" "$root/selftests/net/ioam6_dex"
    pack_initramfs "$root" "$work/initramfs.cpio.gz"
}

run_guest() {
    local log=$work/guest.log
    # The collector orders a DEX path by the nodes' timestamps: on a loaded host the guest's TSC
    # calibration against the emulated PIT fails and it falls back to jiffies (4 ms), and the
    # three nodes then stamp a packet with the same time. Under TCG the guest TSC runs at the
    # host's rate: tell the guest that rate, and keep the watchdog off it.
    build_static_helper "$here/tsc-khz.c" "$work/tsc-khz"
    boot_guest "$kbuild/arch/x86/boot/bzImage" "$work/initramfs.cpio.gz" "$log" "$guest_timeout" \
        "tsc_early_khz=$("$work/tsc-khz") tsc=reliable"
    guest_passed "$log" || fail "guest checks failed (see $log)"
}

main() {
    ensure_packages "linux-source-$kver" qemu-system-x86 busybox-static bc flex bison \
        libelf-dev libssl-dev cpio gcc make patch xz-utils iproute2 cmake ninja-build
    prepare_tree "$kver" "$series"
    build_kernel "$kver" "$kbuild" "${kernel_options[@]}"
    if [ "${1:-}" = --kernel-only ]; then
        echo "dex-qemu: kernel at $kbuild/arch/x86/boot/bzImage"
        return
    fi
    build_userspace
    build_initramfs
    run_guest
    echo "dex-qemu: PASS in $(($(date +%s) - qemu_start)) s"
}

main "$@"
