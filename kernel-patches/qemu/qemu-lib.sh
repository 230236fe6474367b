# Shell helpers shared by the QEMU harnesses (run-dex-test.sh, run-realloc-test.sh): Debian
# kernel source tree with a patch series, tinyconfig-based kernel build, initramfs packing,
# guest boot on the serial console under TCG (no KVM needed), guest result lines.
#
# The caller sets, before using them:
#   qemu_name   prefix of messages ("dex-qemu")
#   work        work folder (stamps, logs, initramfs)
#   jobs        make jobs
# shellcheck shell=bash

qemu_lib_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=kernel-patches/lib.sh
. "$qemu_lib_here/../lib.sh"

qemu_start=$(date +%s)
step() { echo "== [$(($(date +%s) - qemu_start)) s] $*"; }
fail() { echo "$qemu_name: FAIL: $*" >&2; exit 1; }

# Files a patch series touches, one per line.
series_files() {  # series folder (may be empty: no series)
    [ -n "$1" ] || return 0
    grep -hE '^\+\+\+ b/' "$1"/*.patch | sed -E 's|^\+\+\+ b/||' | sort -u
}

series_stamp() {  # series folder (may be empty)
    if [ -n "$1" ]; then cat "$1"/*.patch; fi | sha256sum | cut -c1-16
}

# Brings the tree $work/linux-source-$kver to "Debian source + series" (no series: pristine).
# The tree is extracted once; switching series reverts the applied one (kept in
# $work/tree.applied) and applies the new one, and the files either touches get a fresh mtime,
# so that a kernel build in the same build folder only recompiles what they feed.
prepare_tree() {  # kernel version, series folder (may be empty)
    local kver=$1 series=$2 tree=$work/linux-source-$1 stamp touched p
    stamp=$(series_stamp "$series")
    [ -f "$work/tree.stamp" ] && [ -d "$tree" ] && [ "$(cat "$work/tree.stamp")" = "$stamp" ] \
        && return
    touched=$( (cat "$work/tree.files" 2>/dev/null || true; series_files "$series") | sort -u)
    if [ -d "$tree" ] && [ -d "$work/tree.applied" ]; then
        for p in $(find "$work/tree.applied" -name '*.patch' | sort -r); do
            step "kernel source: revert $(basename "$p")"
            patch -d "$tree" -p1 -R -F0 -s --no-backup-if-mismatch <"$p" \
                || fail "cannot revert $(basename "$p") (delete $tree)"
        done
    else
        step "kernel source: extract linux-source-$kver"
        rm -rf "$tree"
        mkdir -p "$work"
        tar -C "$work" -xf "/usr/src/linux-source-$kver.tar.xz"
    fi
    rm -rf "$work/tree.applied"
    mkdir -p "$work/tree.applied"
    if [ -n "$series" ]; then
        step "kernel source: apply $(basename "$series")"
        for p in "$series"/*.patch; do
            patch -d "$tree" -p1 -F0 -N -s --no-backup-if-mismatch <"$p" \
                || fail "series does not apply: $(basename "$p")"
            cp "$p" "$work/tree.applied/"
        done
    fi
    echo "${series:-pristine}" >"$work/tree.applied/name"
    (cd "$tree" && echo "$touched" | xargs -r touch)
    series_files "$series" >"$work/tree.files"
    echo "$stamp" >"$work/tree.stamp"
}

# What every guest needs on top of tinyconfig: console, initramfs, /proc and /sys, the syscalls
# of busybox and iproute2, IPv6 with lightweight tunnels, veth and network namespaces.
guest_base_options=(
    64BIT PRINTK TTY SERIAL_8250 SERIAL_8250_CONSOLE BLK_DEV_INITRD RD_GZIP BINFMT_ELF
    BINFMT_SCRIPT PROC_FS PROC_SYSCTL SYSCTL SYSFS DEVTMPFS DEVTMPFS_MOUNT TMPFS SHMEM FUTEX
    EPOLL EVENTFD SIGNALFD TIMERFD POSIX_TIMERS MULTIUSER FILE_LOCKING
    NET INET UNIX IPV6 LWTUNNEL IPV6_IOAM6_LWTUNNEL IPV6_TUNNEL NETDEVICES NET_CORE VETH
    NAMESPACES NET_NS
)

# tinyconfig plus options ("NAME" enables CONFIG_NAME, "!NAME" disables it), then bzImage.
build_kernel() {  # kernel version, build folder, options...
    local tree=$work/linux-source-$1 kbuild=$2 o args=()
    shift 2
    mkdir -p "$kbuild"
    if [ "$(cat "$kbuild/options" 2>/dev/null)" != "$*" ]; then
        step "kernel config: tinyconfig + $# options"
        make -s -C "$tree" O="$kbuild" ARCH=x86_64 tinyconfig >/dev/null
        for o in "$@"; do
            case $o in !*) args+=(-d "${o#!}") ;; *) args+=(-e "$o") ;; esac
        done
        "$tree/scripts/config" --file "$kbuild/.config" "${args[@]}"
        make -s -C "$tree" O="$kbuild" ARCH=x86_64 olddefconfig >/dev/null
        echo "$*" >"$kbuild/options"
    fi
    for o in "$@"; do
        case $o in
            !*) ! grep -q "^CONFIG_${o#!}=y" "$kbuild/.config" \
                || fail "kernel config has CONFIG_${o#!}" ;;
            *) grep -q "^CONFIG_$o=y" "$kbuild/.config" || fail "kernel config lacks CONFIG_$o" ;;
        esac
    done
    step "kernel build (bzImage, -j$jobs)"
    make -s -C "$tree" O="$kbuild" ARCH=x86_64 -j"$jobs" bzImage >"$kbuild/build.log" 2>&1 \
        || { tail -30 "$kbuild/build.log" >&2; fail "kernel build (see $kbuild/build.log)"; }
}

# Configures the repository in $work/cmake (Release, no tests) and builds the targets.
build_cmake_targets() {  # targets...
    step "user space: $*"
    cmake -S "$repo" -B "$work/cmake" -G Ninja -DCMAKE_BUILD_TYPE=Release \
        -DIOAM_BUILD_TESTS=OFF -DIOAM_BUILD_BENCH=OFF >"$work/cmake.log" 2>&1 \
        || { tail -30 "$work/cmake.log" >&2; fail "cmake configure"; }
    cmake --build "$work/cmake" --target "$@" -j"$jobs" >>"$work/cmake.log" 2>&1 \
        || { tail -30 "$work/cmake.log" >&2; fail "user space build"; }
}

build_static_helper() {  # C source, output, extra compiler flags...
    local src=$1 out=$2
    shift 2
    gcc -O2 -Wall -Wextra -Werror -static "$@" -o "$out" "$src" || fail "build $(basename "$src")"
}

# Copies a dynamically linked program (stripped: a RelWithDebInfo build would weigh on the
# initramfs) and the libraries it loads into the initramfs.
install_program() {  # initramfs root, path in the host, name in the guest's /usr/bin
    local root=$1 src=$2 name=$3 lib
    [ -x "$src" ] || fail "no program $src"
    install -D -s -m 0755 "$src" "$root/usr/bin/$name"
    for lib in $(ldd "$src" | grep -oE '/[^ ]+\.so[^ ]*'); do
        [ -e "$root$lib" ] || install -D -m 0755 "$lib" "$root$lib"
    done
}

# A fresh initramfs root with busybox, iproute2, the guest's /init and the preamble it sources.
initramfs_root() {  # root, init script
    local root=$1
    rm -rf "$root"
    mkdir -p "$root"/{bin,dev,etc,proc,sys,run,tmp}
    install -m 0755 /bin/busybox "$root/bin/busybox"
    install_program "$root" "$(command -v ip)" ip
    install -m 0644 "$qemu_lib_here/guest-lib.sh" "$root/etc/guest-lib.sh"
    install -m 0755 "$2" "$root/init"
}

pack_initramfs() {  # root, output .cpio.gz
    (cd "$1" && find . | cpio -o -H newc --quiet | gzip -1) >"$2"
}

# Boots the kernel with the initramfs; the serial console goes to the log. Guest lines starting
# with one of the words in $guest_words are printed; $qemu_args (array) adds devices. Fails on
# timeout.
boot_guest() {  # bzImage, initramfs, log, timeout (s), extra kernel arguments
    local rc=0
    step "boot $(basename "$3" .log) (qemu-system-x86_64, TCG, timeout $4 s)"
    timeout "$4" qemu-system-x86_64 -machine pc -accel tcg -m 768 -nographic -no-reboot \
        -kernel "$1" -initrd "$2" -append "console=ttyS0 panic=-1 loglevel=4 ${5:-}" \
        ${qemu_args[@]+"${qemu_args[@]}"} </dev/null >"$3" 2>&1 || rc=$?
    tr -d '\r' <"$3" | grep -E "^(${guest_words:-CHECK|SUMMARY|RESULT|INFO})" || true
    [ "$rc" -ne 124 ] || fail "guest did not finish within $4 s (see $3)"
}

guest_passed() {  # log
    grep -q '^RESULT: PASS' <(tr -d '\r' <"$1")
}
