#!/usr/bin/env bash
# Checks every patch series in kernel-patches/ against the Debian kernel source it targets:
# each patch is checkpatch --strict clean, the series applies in order to a clean tree with no
# fuzz and no offset, and the objects it touches (plus the IPv6 lightweight tunnels) compile
# warning-free with W=1 in a config that enables IOAM6, SEG6 and RPL lightweight tunnels; the
# selftest programs it touches compile warning-free against the tree's uapi headers.
#
# Usage: kernel-patches/check.sh [SERIES_DIR...]   (default: every linux-* series)
# Env:   KPATCH_WORK  work folder (default: build/kernel-patches under the repository)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
work=${KPATCH_WORK:-$repo/build/kernel-patches}
jobs=$(nproc)

# series folder prefix -> Debian source package; the version is the folder's "linux-X.Y".
source_package() { echo "linux-source-$1"; }

fail() { echo "kernel-patches: FAIL: $*" >&2; exit 1; }

# shellcheck source=kernel-patches/lib.sh
. "$here/lib.sh"

fresh_tree() {  # version -> prints the path of a freshly extracted tree
    local ver=$1 tree="$work/linux-source-$1"
    rm -rf "$tree"
    mkdir -p "$work"
    tar -C "$work" -xf "/usr/src/linux-source-$ver.tar.xz"
    echo "$tree"
}

apply_series() {  # tree series_dir
    local tree=$1 dir=$2 out
    for p in "$dir"/*.patch; do
        # FILE_PATH_CHANGES asks whether MAINTAINERS needs an entry for a new file; a selftest
        # under tools/testing/selftests/net/ is covered by the folder's entry. The SPDX line of
        # a new file is not checked here: scripts/spdxcheck.py needs a git tree (it prints a
        # Python traceback on the extracted tarball and checkpatch goes on).
        "$tree/scripts/checkpatch.pl" --strict --quiet --ignore FILE_PATH_CHANGES "$p" \
            || fail "checkpatch --strict: $(basename "$p")"
        if ! out=$(patch -d "$tree" -p1 -F0 -N --no-backup-if-mismatch < "$p" 2>&1); then
            echo "$out" >&2; fail "does not apply: $(basename "$p")"
        fi
        if grep -qiE 'offset|fuzz|reject|hunk .* failed' <<<"$out"; then
            echo "$out" >&2; fail "applies only with offset or fuzz: $(basename "$p")"
        fi
        echo "  applied $(basename "$p")"
    done
}

touched_c() {  # series_dir -> C files the series changes
    grep -hE '^\+\+\+ b/.*\.c$' "$1"/*.patch | sed -E 's|^\+\+\+ b/||' | sort -u
}

touched_objects() {  # series_dir -> .o paths of the kernel C files the series changes
    touched_c "$1" | grep -v '^tools/' | sed -E 's|\.c$|.o|' || true
}

touched_selftests() {  # series_dir -> selftest C files the series changes
    touched_c "$1" | grep '^tools/testing/selftests/' || true
}

build_objects() {  # tree series_dir
    local tree=$1 dir=$2 log="$work/$(basename "$2").build.log"
    local objs tests
    tests=$(touched_selftests "$dir")
    objs=$( (touched_objects "$dir"; printf '%s\n' net/ipv6/ioam6_iptunnel.o \
        net/ipv6/seg6_iptunnel.o net/ipv6/rpl_iptunnel.o net/ipv6/ioam6.o net/ipv6/exthdrs.o) \
        | sort -u)
    (
        cd "$tree"
        make -s defconfig
        ./scripts/config -e IPV6 -e LWTUNNEL -e IPV6_IOAM6_LWTUNNEL -e IPV6_SEG6_LWTUNNEL \
            -e IPV6_RPL_LWTUNNEL
        make -s olddefconfig
        for opt in IPV6_IOAM6_LWTUNNEL IPV6_SEG6_LWTUNNEL IPV6_RPL_LWTUNNEL; do
            grep -q "^CONFIG_$opt=y" .config || fail "config lacks CONFIG_$opt"
        done
        make -s -j"$jobs" prepare
        # shellcheck disable=SC2086
        make -j"$jobs" W=1 $objs || exit 1
        if [ -n "$tests" ]; then
            make -s headers || exit 1
            for t in $tests; do
                gcc -Wall -Wextra -O2 -I usr/include -o /dev/null "$t" || exit 1
            done
        fi
    ) >"$log" 2>&1 || { tail -40 "$log" >&2; fail "build of $(basename "$dir")"; }
    if grep -E 'warning:' "$log"; then
        fail "W=1 warnings in $(basename "$dir") (see $log)"
    fi
    echo "  compiled W=1 clean: $(echo $objs)"
    [ -z "$tests" ] || echo "  selftest programs compiled warning-free: $(echo $tests)"
}

main() {
    local dirs=("$@")
    [ ${#dirs[@]} -gt 0 ] || mapfile -t dirs < <(find "$here" -mindepth 1 -maxdepth 1 -type d \
        -name 'linux-*' | sort)
    [ ${#dirs[@]} -gt 0 ] || fail "no series found"
    ensure_packages bc flex bison libelf-dev libssl-dev make gcc patch xz-utils perl
    for dir in "${dirs[@]}"; do
        dir=$(cd "$dir" && pwd)
        local name ver tree
        name=$(basename "$dir")
        ver=$(sed -E 's/^linux-([0-9]+\.[0-9]+).*/\1/' <<<"$name")
        echo "== $name (Debian $(source_package "$ver"))"
        ensure_packages "$(source_package "$ver")"
        tree=$(fresh_tree "$ver")
        apply_series "$tree" "$dir"
        build_objects "$tree" "$dir"
    done
    echo "kernel-patches: all series OK"
}

main "$@"
