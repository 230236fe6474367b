#!/bin/busybox sh
# /init of the run-realloc-test.sh guest (Linux 6.1, pristine or with
# kernel-patches/linux-6.1-double-realloc; the kernel command line says which: realloc.kernel=).
#
#   snd --- r --- rcv        (one network namespace each, veth links; snd and r also have
#    \_e1000_/                one e1000 NIC each, the two on one QEMU hub)
#
# r forwards snd's packets to a /128 whose route carries the lightweight tunnel under test
# (ioam6 in r's output path, seg6 in r's input path); rcv drops them (blackhole route, so no
# ICMP comes back through r). For each case of /etc/realloc/cases ("proto mode size sender"),
# the route is created anew (empty dst caches: the first packet is a "first packet" again),
# snd sends $COUNT packets, and two kprobe events count what happened:
#   realloc_entry(6) at the tunnel's entry (ioam6_output, seg6_input): skb, headroom, mac_len
#   realloc_expand   at pskb_expand_head: skb, nhead, headroom before, return address (caller)
# An expansion belongs to a packet when it follows that packet's entry event, is done on the
# same skb and its caller is on the tunnel's path (ioam6_*, [__]seg6_*, ip6_finish_output2); any
# other expansion is counted as "other" and listed. One vCPU, so events are in packet order.
# Output, one line per case:
#   ROW kernel=K proto=P mode=M size=S sender=X count=N entries=E headroom=H mac_len=L
#       first=F first_seq=h:n:f,... rest_min=A rest_max=B rest_total=T rest_seq=... other=O
# where seq lists the expansions of a packet as headroom-before:nhead:caller-function.

# shellcheck source=kernel-patches/qemu/guest-lib.sh
. /etc/guest-lib.sh
mount -t tracefs tracefs /sys/kernel/tracing
T=/sys/kernel/tracing
out=/tmp/realloc
mkdir -p $out

COUNT=100
DST=2001:db8:9::1
kernel=$(sed -n 's/.*realloc\.kernel=\([a-z]*\).*/\1/p' /proc/cmdline)
. /etc/realloc/offsets   # OFF_HEAD OFF_DATA OFF_MAC_LEN: struct sk_buff of this build
failed=0
rows=0

finish() { finish_guest "$rows" "$failed" "rows=$rows variant=$kernel"; }

setup() {
    for n in snd r rcv; do
        ip netns add $n || return 1
        ip -n $n link set lo up
    done
    ip link add v-snd-r netns snd type veth peer name v-r-snd netns r || return 1
    ip link add v-r-rcv netns r type veth peer name v-rcv-r netns rcv || return 1
    ip -n snd link set v-snd-r up
    ip -n r link set v-r-snd up
    ip -n r link set v-r-rcv up
    ip -n rcv link set v-rcv-r up
    ip -n snd addr add 2001:db8:1::1/64 dev v-snd-r nodad
    ip -n r addr add 2001:db8:1::2/64 dev v-r-snd nodad
    ip -n r addr add 2001:db8:2::1/64 dev v-r-rcv nodad
    ip -n rcv addr add 2001:db8:2::2/64 dev v-rcv-r nodad
    ip -n snd -6 route add default via 2001:db8:1::2
    # the NICs: the kernel names them eth0, eth1 in PCI order; which is which does not matter
    ip link set eth0 netns snd || return 1
    ip link set eth1 netns r || return 1
    ip -n snd link set eth0 up
    ip -n r link set eth1 up
    ip -n snd addr add 2001:db8:3::1/64 dev eth0 nodad
    ip -n r addr add 2001:db8:3::2/64 dev eth1 nodad
    ip -n r -6 route add 2001:db8:9::/64 via 2001:db8:2::2 dev v-r-rcv
    ip -n rcv -6 route add blackhole 2001:db8:9::/64
    ip -n r -6 route add fd00::/16 via 2001:db8:2::2 dev v-r-rcv
    ip -n rcv -6 route add blackhole fd00::/16
    nsx r sysctl -qw net.ipv6.conf.all.forwarding=1
    nsx r ip ioam namespace add 123 || return 1
    # resolve the neighbours now: the first measured packet must not wait in a neighbour queue
    for i in 1 2 3 4 5 6 7 8 9 10; do
        ip -n r link show eth1 | grep -q LOWER_UP && ip -n snd link show eth0 | grep -q LOWER_UP \
            && break
        sleep 1
    done
    nsx snd ping -6 -c 1 -W 5 2001:db8:1::2 >/dev/null || return 1
    nsx snd ping -6 -c 3 -W 10 2001:db8:3::2 >/dev/null || return 1
    nsx r ping -6 -c 1 -W 5 2001:db8:2::2 >/dev/null || return 1
    RMAC=$(ip -n r link show v-r-snd | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p')
    [ -n "$RMAC" ]
}

probes() {
    echo "p:rl/realloc_entry ioam6_output skb=%dx:x64 head=+$OFF_HEAD(%dx):s64 data=+$OFF_DATA(%dx):s64 mac_len=+$OFF_MAC_LEN(%dx):u16" >>$T/kprobe_events || return 1
    echo "p:rl/realloc_entry6 seg6_input skb=%di:x64 head=+$OFF_HEAD(%di):s64 data=+$OFF_DATA(%di):s64 mac_len=+$OFF_MAC_LEN(%di):u16" >>$T/kprobe_events || return 1
    echo "p:rl/realloc_entry7 rpl_input skb=%di:x64 head=+$OFF_HEAD(%di):s64 data=+$OFF_DATA(%di):s64 mac_len=+$OFF_MAC_LEN(%di):u16" >>$T/kprobe_events || return 1
    echo "p:rl/realloc_expand pskb_expand_head skb=%di:x64 nhead=%si:s32 head=+$OFF_HEAD(%di):s64 data=+$OFF_DATA(%di):s64 caller=\$stack0:symbol" >>$T/kprobe_events || return 1
    echo 1 >$T/events/rl/enable
}

segs() {  # n: n segment addresses
    i=1 list=""
    while [ $i -le $1 ]; do list="$list${list:+,}2001:db8:9::a:$i"; i=$((i + 1)); done
    echo $list
}

# RPL segments of distinct /32 prefixes: they share 3 octets with the first one (CmprI 3), and
# the packets' destination shares none with it (CmprE 0), so the header grows with n.
rpl_segs() {  # n: n segment addresses
    i=1 list=""
    while [ $i -le $1 ]; do list="$list${list:+,}fd00:$i::1"; i=$((i + 1)); done
    echo $list
}

route() {  # proto mode size: the route under test, created anew
    nsx r ip -6 route del $DST/128 2>/dev/null
    case $1 in
        ioam)
            tundst=""
            [ $2 = encap ] && tundst="tundst 2001:db8:9::2"
            nsx r ip -6 route add $DST/128 encap ioam6 mode $2 $tundst trace prealloc \
                type 0x800000 ns 123 size $3 via 2001:db8:2::2 dev v-r-rcv ;;
        srv6)
            nsx r ip -6 route add $DST/128 encap seg6 mode $2 segs $(segs $3) \
                via 2001:db8:2::2 dev v-r-rcv ;;
        rpl)
            nsx r ip -6 route add $DST/128 encap rpl segs $(rpl_segs $3) \
                via 2001:db8:2::2 dev v-r-rcv ;;
    esac
}

send() {  # sender
    case $1 in
        udp|nic)
            via="2001:db8:1::2 dev v-snd-r"
            [ $1 = nic ] && via="2001:db8:3::2 dev eth0"
            nsx snd ip -6 route replace $DST/128 via $via || return 1
            nsx snd realloc-vm-send udp $DST 9 $COUNT 64 ;;
        packet) nsx snd realloc-vm-send packet v-snd-r $RMAC 2001:db8:1::1 $DST 9 $COUNT 64 ;;
    esac
}

# Reads the trace of one case and prints the ROW fields after "count=".
attribute() {
    awk '
    function field(name,   i) {
        for (i = 1; i <= NF; i++) if (index($i, name "=") == 1) return substr($i, length(name) + 2)
        return ""
    }
    / realloc_entry[67]?: / {
        p++; skb[p] = field("skb"); n[p] = 0; seq[p] = ""
        if (p == 1) { hr = field("data") - field("head"); ml = field("mac_len") }
        next
    }
    / realloc_expand: / {
        c = field("caller"); fn = c; sub(/\+.*/, "", fn)
        if (p > 0 && field("skb") == skb[p] && fn ~ /^(ioam6_|seg6_|__seg6_|rpl_|ip6_finish_output2$)/) {
            n[p]++
            seq[p] = seq[p] (seq[p] == "" ? "" : ",") (field("data") - field("head")) ":" field("nhead") ":" fn
        } else {
            other++; others = others " " c
        }
    }
    END {
        min = -1; max = -1; total = 0
        for (i = 2; i <= p; i++) {
            if (min < 0 || n[i] < min) min = n[i]
            if (n[i] > max) max = n[i]
            total += n[i]
        }
        printf "entries=%d headroom=%s mac_len=%s first=%d first_seq=%s rest_min=%d rest_max=%d rest_total=%d rest_seq=%s other=%d", p, hr, ml, n[1] + 0, seq[1] == "" ? "-" : seq[1], min, max, total, seq[2] == "" ? "-" : seq[2], other + 0
        if (other) printf " other_callers=%s", substr(others, 2)
        printf "\n"
    }'
}

run_case() {  # proto mode size sender
    route $1 $2 $3 || { echo "ROW kernel=$kernel proto=$1 mode=$2 size=$3 sender=$4 error=route"
        failed=$((failed + 1)); return; }
    echo >$T/trace
    send $4 >$out/send.log 2>&1 || { echo "ROW kernel=$kernel proto=$1 mode=$2 size=$3 sender=$4 error=send $(cat $out/send.log)"
        failed=$((failed + 1)); return; }
    sleep 1
    cp $T/trace $out/trace.$1.$2.$3.$4
    row="kernel=$kernel proto=$1 mode=$2 size=$3 sender=$4 count=$COUNT $(attribute <$out/trace.$1.$2.$3.$4)"
    [ $1 = rpl ] && row="$row segs=$(rpl_segs $3) daddr=$DST"
    echo "ROW $row"
    rows=$((rows + 1))
    case $row in *" entries=$COUNT "*) ;; *) failed=$((failed + 1)) ;; esac
}

main() {
    echo  # the console's escape sequences end up in front of the first line
    info "kernel $(uname -r) ($kernel), sk_buff head@$OFF_HEAD data@$OFF_DATA mac_len@$OFF_MAC_LEN"
    setup || { info "setup failed"; failed=1; return; }
    probes || { info "kprobe events failed"; failed=1; return; }
    while read -r proto mode size sender; do
        case $proto in ''|'#'*) continue ;; esac
        run_case $proto $mode $size $sender
    done </etc/realloc/cases
    info "$(grep -c . $T/trace) lines in the last trace; dmesg warnings: $(dmesg | grep -cE 'WARNING:|BUG:')"
}

main
finish
