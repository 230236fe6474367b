#!/usr/bin/env bash
# A chain of five network namespaces for IOAM: source -> r1 -> r2 -> r3 -> sink, joined by
# veth links, IPv6 forwarding and routes, IOAM enabled on every ingress interface after the
# source, distinct node ids (short and wide), interface ids, namespace data, and an opaque
# state schema on r2. Traffic stays inside these namespaces.
#
# Usage: topology.sh up|down|status [PREFIX]     (PREFIX default "ioam", at most 8 chars)
#   up      builds it (tearing down any previous one of the same prefix first: idempotent)
#   down    removes every namespace it made
# Conventions (tests and the demo rely on them):
#   namespaces  PREFIX-src PREFIX-r1 PREFIX-r2 PREFIX-r3 PREFIX-sink
#   link j      (j = 1..4) joins node j-1 ("right") and node j ("left"): fd00:0:0:j::1 / ::2
#   source      fd00:0:0:1::1     sink fd00:0:0:4::2
#   node k      (1..4: r1 r2 r3 sink) node id 100+k, wide node id 0xa0000000000000+k,
#               left if id 10k+1 (wide 0xa0000+10k+1), right if id 10k+2
#   IOAM        namespace 123, data 0xdeadbe00+k, wide data 0xcafe00000000000k;
#               r2 carries opaque state schema 7 (data "r2-state", 8 octets)
set -Eeuo pipefail

cmd=${1:-}
prefix=${2:-ioam}
[[ "$prefix" =~ ^[a-z0-9]{1,8}$ ]] || { echo "topology: PREFIX must be 1-8 of [a-z0-9]" >&2; exit 2; }
nodes=(src r1 r2 r3 sink)
IOAM_NS=123

ns() { echo "$prefix-${nodes[$1]}"; }
in_ns() { local n=$1; shift; ip netns exec "$(ns "$n")" "$@"; }
quiet_sysctl() { in_ns "$1" sysctl -qw "$2"; }

down() {
    for i in "${!nodes[@]}"; do
        ip netns del "$(ns "$i")" 2>/dev/null || true
    done
}

make_nodes() {
    for i in "${!nodes[@]}"; do
        ip netns add "$(ns "$i")"
        ip -n "$(ns "$i")" link set lo up
        quiet_sysctl "$i" net.ipv6.conf.all.accept_dad=0
        quiet_sysctl "$i" net.ipv6.conf.default.accept_dad=0
    done
}

make_links() {
    for j in 1 2 3 4; do
        local a=$((j - 1)) b=$j
        ip -n "$(ns "$a")" link add right type veth peer name left netns "$(ns "$b")"
        ip -n "$(ns "$a")" addr add "fd00:0:0:$j::1/64" dev right nodad
        ip -n "$(ns "$b")" addr add "fd00:0:0:$j::2/64" dev left nodad
        ip -n "$(ns "$a")" link set right up
        ip -n "$(ns "$b")" link set left up
    done
}

make_routes() {
    for k in 0 1 2 3 4; do
        for j in 1 2 3 4; do
            if ((j > k + 1)); then
                ip -n "$(ns "$k")" -6 route add "fd00:0:0:$j::/64" via "fd00:0:0:$((k + 1))::2"
            elif ((j < k)); then
                ip -n "$(ns "$k")" -6 route add "fd00:0:0:$j::/64" via "fd00:0:0:$k::1"
            fi
        done
        if ((k >= 1 && k <= 3)); then
            quiet_sysctl "$k" net.ipv6.conf.all.forwarding=1
        fi
    done
}

configure_ioam() {
    for k in 1 2 3 4; do
        quiet_sysctl "$k" "net.ipv6.ioam6_id=$((100 + k))"
        quiet_sysctl "$k" "net.ipv6.ioam6_id_wide=$((0xa0000000000000 + k))"
        quiet_sysctl "$k" net.ipv6.conf.left.ioam6_enabled=1
        quiet_sysctl "$k" "net.ipv6.conf.left.ioam6_id=$((10 * k + 1))"
        quiet_sysctl "$k" "net.ipv6.conf.left.ioam6_id_wide=$((0xa0000 + 10 * k + 1))"
        if ((k <= 3)); then
            quiet_sysctl "$k" "net.ipv6.conf.right.ioam6_id=$((10 * k + 2))"
            quiet_sysctl "$k" "net.ipv6.conf.right.ioam6_id_wide=$((0xa0000 + 10 * k + 2))"
        fi
        in_ns "$k" ip ioam namespace add "$IOAM_NS" data "$(printf '0xdeadbe%02x' "$k")" \
            wide "$(printf '0xcafe%012x' "$k")"
    done
    in_ns 2 ip ioam schema add 7 "r2-state"
    in_ns 2 ip ioam namespace set "$IOAM_NS" schema 7
}

up() {
    [ "$(id -u)" -eq 0 ] || { echo "topology: needs root (network namespaces)" >&2; exit 77; }
    down
    trap 'echo "topology: setup failed or interrupted, removing it" >&2; down; exit 1' ERR INT TERM
    make_nodes
    make_links
    make_routes
    configure_ioam
    # One ping end to end proves the routes before anyone relies on them.
    in_ns 0 ping -6 -c 1 -W 2 fd00:0:0:4::2 >/dev/null
    trap - ERR INT TERM
    status
}

status() {
    for k in "${!nodes[@]}"; do
        local n
        n=$(ns "$k")
        if ! ip netns list | grep -qw "$n"; then
            echo "$n: absent"
            continue
        fi
        local addrs
        addrs=$(ip -n "$n" -6 -br addr show scope global | awk '{print $1"="$3}' | xargs)
        if ((k == 0)); then
            echo "$n: source $addrs"
        else
            echo "$n: node id $((100 + k)) $addrs"
        fi
    done
}

case "$cmd" in
    up) up ;;
    down) down ;;
    status) status ;;
    *) echo "usage: $0 up|down|status [PREFIX]" >&2; exit 2 ;;
esac
