#!/usr/bin/env bash
# End-to-end test of the IOAM DEX series (kernel-patches/linux-6.12-dex) in a QEMU virtual
# machine, software emulation (no KVM needed):
#   1. builds a tinyconfig-based Linux 6.12 with the series applied (Debian linux-source-6.12),
#   2. builds ioam-exporter and ioam-dex-route from this repository,
#   3. packs them with busybox, iproute2 and the test helper into an initramfs,
#   4. boots it; the guest (dex-vm-init.sh) runs sender -> encap -> transit -> decap -> receiver
#      in network namespaces and checks DEX events, header removal, PTO and IPFIX export.
# Exits 0 when every guest check passed, non-zero otherwise; prints a summary either way.
#
# Usage: bash kernel-patches/qemu/run-dex-test.sh [--kernel-only]
# Env:   DEX_QEMU_WORK     work folder (default: build/qemu-dex under the repository)
#        DEX_QEMU_JOBS     make/ninja jobs (default: 2)
#        DEX_QEMU_TIMEOUT  seconds the guest may run (default: 900)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
work=${DEX_QEMU_WORK:-$repo/build/qemu-dex}
jobs=${DEX_QEMU_JOBS:-2}
guest_timeout=${DEX_QEMU_TIMEOUT:-900}
series=$repo/kernel-patches/linux-6.12-dex
kver=6.12
tree=$work/linux-source-$kver
kbuild=$work/kbuild
start=$(date +%s)

step() { echo "== [$(($(date +%s) - start)) s] $*"; }
fail() { echo "dex-qemu: FAIL: $*" >&2; exit 1; }

# shellcheck source=kernel-patches/lib.sh
. "$here/../lib.sh"

# Kernel options on top of tinyconfig: what the guest test needs, and the cheap debug checks
# (sleeping in atomic context, lockdep, RCU usage) whose reports the guest looks for.
kernel_options=(
    64BIT PRINTK TTY SERIAL_8250 SERIAL_8250_CONSOLE BLK_DEV_INITRD RD_GZIP BINFMT_ELF
    BINFMT_SCRIPT PROC_FS PROC_SYSCTL SYSCTL SYSFS DEVTMPFS DEVTMPFS_MOUNT TMPFS SHMEM FUTEX
    EPOLL EVENTFD SIGNALFD TIMERFD POSIX_TIMERS MULTIUSER FILE_LOCKING
    NET INET UNIX IPV6 LWTUNNEL IPV6_IOAM6_LWTUNNEL IPV6_TUNNEL NETDEVICES NET_CORE VETH
    NAMESPACES NET_NS
    DEBUG_KERNEL DEBUG_ATOMIC_SLEEP PROVE_LOCKING PROVE_RCU
)

# Extracts the Debian source and applies the series when the series changed. Files the
# previous or the current series touch get a fresh mtime so that make rebuilds what they feed.
prepare_tree() {
    local stamp touched
    stamp=$(cat "$series"/*.patch | sha256sum | cut -c1-16)
    [ -f "$work/tree.stamp" ] && [ "$(cat "$work/tree.stamp")" = "$stamp" ] && return
    step "kernel source: extract linux-source-$kver and apply $(basename "$series")"
    touched=$( (cat "$work/tree.files" 2>/dev/null || true; grep -hE '^\+\+\+ b/' \
        "$series"/*.patch | sed -E 's|^\+\+\+ b/||') | sort -u)
    rm -rf "$tree"
    mkdir -p "$work"
    tar -C "$work" -xf "/usr/src/linux-source-$kver.tar.xz"
    for p in "$series"/*.patch; do
        patch -d "$tree" -p1 -F0 -N -s --no-backup-if-mismatch <"$p" \
            || fail "series does not apply: $(basename "$p")"
    done
    (cd "$tree" && echo "$touched" | xargs -r touch)
    echo "$touched" >"$work/tree.files"
    echo "$stamp" >"$work/tree.stamp"
}

build_kernel() {
    mkdir -p "$kbuild"
    if [ "$(cat "$kbuild/options" 2>/dev/null)" != "${kernel_options[*]}" ]; then
        step "kernel config: tinyconfig + ${#kernel_options[@]} options"
        make -s -C "$tree" O="$kbuild" ARCH=x86_64 tinyconfig >/dev/null
        local args=()
        for o in "${kernel_options[@]}"; do args+=(-e "$o"); done
        "$tree/scripts/config" --file "$kbuild/.config" "${args[@]}"
        make -s -C "$tree" O="$kbuild" ARCH=x86_64 olddefconfig >/dev/null
        echo "${kernel_options[*]}" >"$kbuild/options"
    fi
    for o in "${kernel_options[@]}"; do
        grep -q "^CONFIG_$o=y" "$kbuild/.config" || fail "kernel config lacks CONFIG_$o"
    done
    step "kernel build (bzImage, -j$jobs)"
    make -s -C "$tree" O="$kbuild" ARCH=x86_64 -j"$jobs" bzImage >"$work/kernel.log" 2>&1 \
        || { tail -30 "$work/kernel.log" >&2; fail "kernel build (see $work/kernel.log)"; }
}

build_userspace() {
    step "user space: ioam-exporter, ioam-dex-route, dex-vm-probe"
    cmake -S "$repo" -B "$work/cmake" -G Ninja -DCMAKE_BUILD_TYPE=Release \
        -DIOAM_BUILD_TESTS=OFF -DIOAM_BUILD_BENCH=OFF >"$work/cmake.log" 2>&1 \
        || { tail -30 "$work/cmake.log" >&2; fail "cmake configure"; }
    cmake --build "$work/cmake" --target ioam-exporter ioam-dex-route -j"$jobs" \
        >>"$work/cmake.log" 2>&1 || { tail -30 "$work/cmake.log" >&2; fail "user space build"; }
    gcc -O2 -Wall -Wextra -Werror -static -o "$work/dex-vm-probe" "$here/dex-vm-probe.c"
}

# Copies a dynamically linked program and the libraries it loads into the initramfs.
install_program() {  # initramfs root, path in the host, name in the guest's /usr/bin
    local root=$1 src=$2 name=$3 lib
    install -D -m 0755 "$src" "$root/usr/bin/$name"
    for lib in $(ldd "$src" | grep -oE '/[^ ]+\.so[^ ]*'); do
        [ -e "$root$lib" ] || install -D -m 0755 "$lib" "$root$lib"
    done
}

build_initramfs() {
    step "initramfs"
    local root=$work/initramfs
    rm -rf "$root"
    mkdir -p "$root"/{bin,dev,proc,sys,run,tmp}
    install -m 0755 /bin/busybox "$root/bin/busybox"
    install_program "$root" "$(command -v ip)" ip
    install_program "$root" "$work/cmake/exporter/ioam-exporter" ioam-exporter
    install_program "$root" "$work/cmake/tools/dex-route/ioam-dex-route" ioam-dex-route
    install -m 0755 "$work/dex-vm-probe" "$root/usr/bin/dex-vm-probe"
    install -m 0755 "$here/dex-vm-init.sh" "$root/init"
    (cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$work/initramfs.cpio.gz"
}

run_guest() {
    step "boot (qemu-system-x86_64, TCG, timeout ${guest_timeout} s)"
    local log=$work/guest.log rc=0
    timeout "$guest_timeout" qemu-system-x86_64 -machine pc -accel tcg -m 768 -nographic \
        -no-reboot -kernel "$kbuild/arch/x86/boot/bzImage" -initrd "$work/initramfs.cpio.gz" \
        -append "console=ttyS0 panic=-1 loglevel=4" </dev/null >"$log" 2>&1 || rc=$?
    tr -d '\r' <"$log" | grep -E '^(CHECK|SUMMARY|RESULT|INFO)' || true
    [ "$rc" -ne 124 ] || fail "guest did not finish within ${guest_timeout} s (see $log)"
    grep -q '^RESULT: PASS' <(tr -d '\r' <"$log") || fail "guest checks failed (see $log)"
}

main() {
    ensure_packages "linux-source-$kver" qemu-system-x86 busybox-static bc flex bison \
        libelf-dev libssl-dev cpio gcc make patch xz-utils iproute2 cmake ninja-build
    prepare_tree
    build_kernel
    if [ "${1:-}" = --kernel-only ]; then
        echo "dex-qemu: kernel at $kbuild/arch/x86/boot/bzImage"
        return
    fi
    build_userspace
    build_initramfs
    run_guest
    echo "dex-qemu: PASS in $(($(date +%s) - start)) s"
}

main "$@"
