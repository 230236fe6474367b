#!/usr/bin/env bash
# Measures the socket buffer reallocations of the IPv6 lightweight tunnels (ioam6, seg6) on a real
# Linux 6.1.192 in QEMU (TCG, no KVM needed), without and with kernel-patches/linux-6.1-double-
# realloc, and compares them with ioam-realloc-calc's prediction:
#   1. builds Linux 6.1 from Debian's linux-source-6.1 twice in one tree and build folder,
#      pristine and with the series (the second build only recompiles what the series touches),
#   2. builds ioam-realloc-calc and the guest's packet source,
#   3. boots each kernel; the guest (realloc-vm-init.sh) sends 100 packets per case through a
#      router namespace whose route carries the tunnel and counts pskb_expand_head calls per
#      packet with kprobe events,
#   4. joins measured and predicted counts (realloc-join.py) into $work/realloc-table.md.
# Exits 0 only when every row agrees (or is an explained exception of realloc-join.py).
#
# Usage: bash kernel-patches/qemu/run-realloc-test.sh [--update-docs]
#        --update-docs  also writes the table into docs/double-reallocation.md
# Env:   REALLOC_QEMU_WORK     work folder (default: build/qemu-realloc under the repository)
#        REALLOC_QEMU_JOBS     make/ninja jobs (default: 2)
#        REALLOC_QEMU_TIMEOUT  seconds each guest may run (default: 900)
#        REALLOC_CALC          ioam-realloc-calc to use instead of building it
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
work=${REALLOC_QEMU_WORK:-$repo/build/qemu-realloc}
jobs=${REALLOC_QEMU_JOBS:-2}
guest_timeout=${REALLOC_QEMU_TIMEOUT:-900}
series=$repo/kernel-patches/linux-6.1-double-realloc
kver=6.1
kbuild=$work/kbuild
doc=$repo/docs/double-reallocation.md
qemu_name=realloc-qemu
guest_words='ROW|SUMMARY|RESULT|INFO'
# Two e1000 NICs on one QEMU hub: the guest gives one to the sender's namespace and one to the
# router's, so that packets reach the router through a real driver's receive path.
qemu_args=(-netdev 'hubport,id=n0,hubid=0' -device 'e1000,netdev=n0'
    -netdev 'hubport,id=n1,hubid=0' -device 'e1000,netdev=n1')
# shellcheck source=kernel-patches/qemu/qemu-lib.sh
. "$here/qemu-lib.sh"

# tinyconfig plus what the guest needs: IPv6 tunnels, veth, namespaces, AF_PACKET, two e1000
# NICs (a real driver's receive headroom), kprobe events (6.1's KPROBES depends on MODULES),
# and reduced debug info for the sk_buff offsets the probes read. No SMP: one CPU, whose dst
# cache makes the "first packet".
kernel_options=(
    "${guest_base_options[@]}" PCI ETHERNET NET_VENDOR_INTEL E1000
    IPV6_SEG6_LWTUNNEL IPV6_RPL_LWTUNNEL PACKET MODULES KPROBES FTRACE KPROBE_EVENTS
    '!DEBUG_INFO_NONE' DEBUG_INFO_DWARF_TOOLCHAIN_DEFAULT DEBUG_INFO_REDUCED '!SMP'
)

# "proto mode size sender": size is the PTO length for ioam, the number of segments on the
# route for seg6 and rpl. Senders: udp (AF_INET6 socket over veth), packet (AF_PACKET frames over veth),
# nic (AF_INET6 socket over the e1000 pair). The sizes include, for the headroom each sender
# gives at the router, cases the calculator predicts with 0/1 expansions at the insertion and
# 0/1 after it (two reallocations need headroom - mac_len - overhead to be a multiple of 64).
cases() {
    local sender
    for sender in udp packet nic; do
        printf 'ioam inline %s '"$sender"'\n' 32 48 64 112 128
        printf 'ioam encap %s '"$sender"'\n' 8 24 56 72 88
        printf 'srv6 encap %s '"$sender"'\n' 1 2 5 6
        printf 'srv6 encap.red %s '"$sender"'\n' 1 2 3 6
        printf 'srv6 inline %s '"$sender"'\n' 1 2
        printf 'srv6 l2encap %s '"$sender"'\n' 1 2 5
        printf 'rpl inline %s '"$sender"'\n' 1 2 5 6
    done
}

# Builds the kernel of each variant (pristine, patched) unless its bzImage was built from the
# same options and series already.
build_kernels() {
    local variant s stamp
    for variant in pristine patched; do
        s=""
        [ $variant = patched ] && s=$series
        stamp="$(series_stamp "$s") ${kernel_options[*]}"
        [ -f "$work/bzImage-$variant" ] && [ "$(cat "$work/bzImage-$variant.stamp")" = "$stamp" ] \
            && continue
        prepare_tree "$kver" "$s"
        build_kernel "$kver" "$kbuild" "${kernel_options[@]}"
        cp "$kbuild/arch/x86/boot/bzImage" "$work/bzImage-$variant"
        echo "$stamp" >"$work/bzImage-$variant.stamp"
    done
}

# OFF_HEAD, OFF_DATA, OFF_MAC_LEN of struct sk_buff, from the debug info of the last build (the
# series does not change the structure).
skb_offsets() {
    local f off
    for f in head data mac_len; do
        off=$(gdb -batch -ex "print (int)&((struct sk_buff *)0)->$f" "$kbuild/vmlinux" 2>/dev/null \
            | sed -n 's/^\$1 = \([0-9]*\)$/\1/p')
        [ -n "$off" ] || fail "no offset of sk_buff.$f in $kbuild/vmlinux"
        echo "OFF_$(echo "$f" | tr '[:lower:]' '[:upper:]')=$off"
    done
}

calculator() {
    if [ -n "${REALLOC_CALC:-}" ]; then
        calc=$REALLOC_CALC
    else
        build_cmake_targets ioam-realloc-calc
        calc=$work/cmake/tools/realloc-calc/ioam-realloc-calc
    fi
    [ -x "$calc" ] || fail "no calculator at $calc"
}

build_initramfs() {
    step "initramfs"
    local root=$work/initramfs
    build_static_helper "$here/realloc-vm-send.c" "$work/realloc-vm-send"
    initramfs_root "$root" "$here/realloc-vm-init.sh"
    install -m 0755 "$work/realloc-vm-send" "$root/usr/bin/realloc-vm-send"
    mkdir -p "$root/etc/realloc"
    skb_offsets >"$root/etc/realloc/offsets"
    cases >"$root/etc/realloc/cases"
    pack_initramfs "$root" "$work/initramfs.cpio.gz"
}

run_guests() {
    local variant log
    for variant in pristine patched; do
        log=$work/guest-$variant.log
        boot_guest "$work/bzImage-$variant" "$work/initramfs.cpio.gz" "$log" "$guest_timeout" \
            "realloc.kernel=$variant"
        guest_passed "$log" || fail "guest $variant did not measure every case (see $log)"
    done
}

# Replaces the table between the markers of the document.
update_docs() {
    step "table -> $doc"
    python3 - "$doc" "$work/realloc-table.md" <<'EOF'
import sys
doc, table = sys.argv[1], open(sys.argv[2], encoding="utf-8").read()
text = open(doc, encoding="utf-8").read()
begin, end = "<!-- realloc-table begin -->\n", "<!-- realloc-table end -->"
head, rest = text.split(begin, 1)
open(doc, "w", encoding="utf-8").write(head + begin + table + end + rest.split(end, 1)[1])
EOF
}

main() {
    ensure_packages "linux-source-$kver" qemu-system-x86 busybox-static bc flex bison \
        libelf-dev libssl-dev cpio gcc make patch xz-utils iproute2 cmake ninja-build gdb python3
    build_kernels
    calculator
    build_initramfs
    run_guests
    step "join measured and predicted"
    local rc=0
    python3 "$here/realloc-join.py" --calc "$calc" --out "$work/realloc-table.md" \
        "$work/guest-pristine.log" "$work/guest-patched.log" || rc=$?
    [ "${1:-}" = --update-docs ] && update_docs
    [ $rc = 0 ] || fail "measured and predicted reallocations disagree (see $work/realloc-table.md)"
    echo "$qemu_name: PASS in $(($(date +%s) - qemu_start)) s"
}

main "$@"
