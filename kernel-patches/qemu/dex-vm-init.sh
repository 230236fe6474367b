#!/bin/busybox sh
# /init of the run-dex-test.sh guest (kernel with kernel-patches/linux-6.12-dex).
#
#   snd --- enc --- tra --- dec --- rcv        (one network namespace each, veth links)
#
# enc is the IOAM encapsulating node, tra a transit node, dec the decapsulating node; the three
# have IOAM namespaces 123 and 124 and run ioam-exporter (JSON lines + IPFIX to a UDP collector
# in their namespace). Scenarios, one flow each, sent by snd with hop limit 64:
#   A  DEX, encap mode (ip6ip6 to dec), ns 123, Flow ID + Sequence Number -> rcv
#   B  DEX, inline mode, freq 1/2, ns 124, Flow ID + Sequence Number       -> dec itself
#   P  PTO (Pre-allocated Trace, iproute2), inline mode, ns 123           -> rcv
#   F  DEX flow table bound and expiry: inline, ns 125 (configured nowhere, so the header
#      reaches rcv, whose socket reads the Sequence Numbers)               -> rcv
# Each check prints "CHECK PASS|FAIL name: detail"; the last lines are SUMMARY and RESULT.

# shellcheck source=kernel-patches/qemu/guest-lib.sh
. /etc/guest-lib.sh
out=/tmp/dex
mkdir -p $out

passed=0
failed=0
PKTS=10

check() {  # name condition-result(0/1) detail
    if [ "$2" = 0 ]; then
        passed=$((passed + 1)); echo "CHECK PASS $1: $3"
    else
        failed=$((failed + 1)); echo "CHECK FAIL $1: $3"
    fi
}

finish() { finish_guest "$passed" "$failed" "passed=$passed"; }

# ---------------------------------------------------------------- topology
setup() {
    for n in snd enc tra dec rcv; do
        ip netns add $n || return 1
        ip -n $n link set lo up
    done
    # veth pairs: name v-<here>-<there>
    pair() { ip link add v-$1-$2 netns $1 type veth peer name v-$2-$1 netns $2 || return 1
             ip -n $1 link set v-$1-$2 up; ip -n $2 link set v-$2-$1 up; }
    pair snd enc && pair enc tra && pair tra dec && pair dec rcv || return 1
    ip -n snd addr add 2001:db8:1::1/64 dev v-snd-enc nodad
    ip -n enc addr add 2001:db8:1::2/64 dev v-enc-snd nodad
    ip -n enc addr add 2001:db8:2::1/64 dev v-enc-tra nodad
    ip -n tra addr add 2001:db8:2::2/64 dev v-tra-enc nodad
    ip -n tra addr add 2001:db8:3::1/64 dev v-tra-dec nodad
    ip -n dec addr add 2001:db8:3::2/64 dev v-dec-tra nodad
    ip -n dec addr add 2001:db8:3::3/64 dev v-dec-tra nodad
    ip -n dec addr add 2001:db8:4::1/64 dev v-dec-rcv nodad
    ip -n rcv addr add 2001:db8:4::2/64 dev v-rcv-dec nodad
    ip -n rcv addr add 2001:db8:4::3/64 dev v-rcv-dec nodad
    ip -n rcv addr add 2001:db8:4::4/64 dev v-rcv-dec nodad
    ip -n snd -6 route add default via 2001:db8:1::2
    ip -n enc -6 route add default via 2001:db8:2::2
    ip -n tra -6 route add 2001:db8:1::/64 via 2001:db8:2::1
    ip -n tra -6 route add 2001:db8:4::/64 via 2001:db8:3::2
    ip -n dec -6 route add default via 2001:db8:3::1
    ip -n rcv -6 route add default via 2001:db8:4::1
    id=1
    for n in enc tra dec; do
        nsx $n sysctl -qw net.ipv6.conf.all.forwarding=1
        nsx $n sysctl -qw net.ipv6.ioam6_id=$id
        for dev in $(nsx $n sh -c 'ls /proc/sys/net/ipv6/conf' | grep '^v-'); do
            nsx $n sysctl -qw net.ipv6.conf.$dev.ioam6_enabled=1
            nsx $n sysctl -qw net.ipv6.conf.$dev.ioam6_id=$((id * 10))
        done
        nsx $n ip ioam namespace add 123 data 0xdeadbeef || return 1
        nsx $n ip ioam namespace add 124 data 0xcafe0124 || return 1
        id=$((id + 1))
    done
    # dec ends the ip6ip6 tunnel of scenario A with the fallback tunnel device
    ip -n dec link set ip6tnl0 up || return 1
}

# ---------------------------------------------------------------- exporters and collectors
# Started without the ip() function so that $! is the daemon (ip netns exec execs it).
start_daemons() {
    for n in enc tra dec; do
        /usr/bin/ip netns exec $n dex-vm-probe collect 4739 >$out/$n.collect 2>&1 &
        echo $! >$out/$n.collect.pid
        /usr/bin/ip netns exec $n ioam-exporter --print json --collector 'udp://[::1]:4739' \
            --flush-interval 50 >$out/$n.json 2>$out/$n.log &
        echo $! >$out/$n.exporter.pid
    done
    sleep 5
    for n in enc tra dec; do
        kill -0 "$(cat $out/$n.exporter.pid)" 2>/dev/null \
            || { info "exporter in $n exited:"; cat $out/$n.log; return 1; }
    done
}

stop_daemons() {
    for n in enc tra dec; do kill -TERM "$(cat $out/$n.exporter.pid)" 2>/dev/null; done
    for n in enc tra dec; do wait "$(cat $out/$n.exporter.pid)" 2>/dev/null; done
    sleep 1
    for n in enc tra dec; do kill -TERM "$(cat $out/$n.collect.pid)" 2>/dev/null; done
    for n in enc tra dec; do wait "$(cat $out/$n.collect.pid)" 2>/dev/null; done
}

# ---------------------------------------------------------------- event extraction
# DEX events of IOAM namespace $2 in exporter output $1, one line each:
# "<flow_id> <sequence_number> <node_id> <hop_limit>"
dex_events() {
    grep '"kind":"dex"' "$1" | grep "\"namespace\":$2," | while read -r line; do
        f=$(echo "$line" | sed -n 's/.*"flow_id":\([0-9]*\).*/\1/p')
        s=$(echo "$line" | sed -n 's/.*"sequence_number":\([0-9]*\).*/\1/p')
        i=$(echo "$line" | sed -n 's/.*"node_id":\([0-9]*\).*/\1/p')
        h=$(echo "$line" | sed -n 's/.*"hop_limit":\([0-9]*\).*/\1/p')
        echo "${f:-none} ${s:-none} ${i:-none} ${h:-none}"
    done
}

# Checks one DEX scenario in the three exporters: $1 name, $2 namespace, $3 expected events.
check_dex_flow() {
    name=$1 ns=$2 want=$3 flows=""
    hop=63
    for n in enc tra dec; do
        dex_events $out/$n.json $ns >$out/$n.$name
        count=$(wc -l <$out/$n.$name)
        flow=$(cut -d' ' -f1 $out/$n.$name | sort -u | tr '\n' ' ')
        seqs=$(cut -d' ' -f2 $out/$n.$name | tr '\n' ' ')
        expect_seqs=$(seq 0 $((want - 1)) | tr '\n' ' ')
        nodes=$(cut -d' ' -f3 $out/$n.$name | sort -u | tr '\n' ' ')
        hops=$(cut -d' ' -f4 $out/$n.$name | sort -u | tr '\n' ' ')
        node_id=$(nsx $n sysctl -n net.ipv6.ioam6_id)
        [ "$count" = "$want" ]
        check "$name-$n-events" $? "$count DEX events in ns $ns (want $want)"
        [ "$seqs" = "$expect_seqs" ]
        check "$name-$n-seq" $? "sequence numbers [$seqs] (want [$expect_seqs])"
        [ "$nodes" = "$node_id " ] && [ "$hops" = "$hop " ]
        check "$name-$n-node" $? "node id [$nodes] hop limit [$hops] (want $node_id, $hop)"
        flows="$flows$flow"
        hop=$((hop - 1))
    done
    single=$(echo $flows | tr ' ' '\n' | sort -u | wc -l)
    [ "$single" = 1 ] && [ "$(echo $flows | cut -d' ' -f1)" != none ]
    check "$name-flow-id" $? "flow ids seen by enc, tra, dec: [$flows] (want one, the same)"
    echo "$flows" | cut -d' ' -f1 >$out/$name.flow
}

# ---------------------------------------------------------------- scenarios
scenario() {  # name, destination, port, receiver namespace
    nsx $4 dex-vm-probe recv $3 $PKTS 60 >$out/$1.recv 2>&1 &
    rpid=$!
    sleep 2
    nsx snd dex-vm-probe send $2 $3 $PKTS 64 >/dev/null
    wait $rpid
    sleep 2
}

# Sequence Numbers of $2 packets of one new flow (source port $1) to rcv's 2001:db8:4::4.
table_flow() {
    nsx rcv dex-vm-probe recv 6001 $2 60 >$out/F.$1 2>&1 &
    rpid=$!
    sleep 1
    nsx snd dex-vm-probe send 2001:db8:4::4 6001 $2 64 $1 >/dev/null
    wait $rpid
    sed -n 's/^recv packet .*dex_seq=//p' $out/F.$1 | tr '\n' ' '
}

# The per-netns table keeps at most 4096 flows and forgets those idle for 30 s (GC every 10 s).
flow_table() {
    nsx enc ioam-dex-route add 2001:db8:4::4/128 mode inline dex trace-type 0x800000 ns 125 \
        ext-flags 0xc0 via 2001:db8:2::2 dev v-enc-tra
    check route-dex-table $? "ioam-dex-route, inline mode, ns 125"
    seqs=$(table_flow 29999 2)
    [ "$seqs" = "0 1 " ]
    check F-tracked $? "a new flow while the table has room: sequence numbers [$seqs] (want 0 1)"
    # 4200 datagrams in a burst: a backlog of 1000 (the default) may drop some before they reach
    # the table when the emulated CPU is slow, and the table would not fill up.
    sysctl -qw net.core.netdev_max_backlog=10000
    t0=$(date +%s)
    nsx snd dex-vm-probe flows 2001:db8:4::4 6000 20000 4200 >/dev/null
    info "4200 one-packet flows sent in $(($(date +%s) - t0)) s; backlog drops per CPU (softnet_stat):" \
        "$(cut -d' ' -f2 /proc/net/softnet_stat | tr '\n' ' ')"
    seqs=$(table_flow 30000 2)
    [ "$seqs" = "0 0 " ]
    check F-bounded $? "a new flow once 4096 flows are kept: [$seqs] (want 0 0: not kept)"
    sleep 45
    seqs=$(table_flow 30001 2)
    [ "$seqs" = "0 1 " ]
    check F-expired $? "a new flow after 45 s idle: [$seqs] (want 0 1: idle flows forgotten)"
}

main() {
    info "kernel $(uname -r)"
    setup || { check setup 1 "topology"; return; }
    check setup 0 "5 namespaces, IOAM on enc, tra, dec"

    nsx enc ioam-dex-route add 2001:db8:4::2/128 mode encap tundst 2001:db8:3::2 \
        dex trace-type 0xf40000 ns 123 ext-flags 0xc0 dev v-enc-tra
    check route-dex-encap $? "ioam-dex-route, encap mode, tundst dec"
    nsx enc ioam-dex-route add 2001:db8:3::3/128 freq 1/2 mode inline \
        dex trace-type 0x800000 ns 124 ext-flags 0xc0 via 2001:db8:2::2 dev v-enc-tra
    check route-dex-inline $? "ioam-dex-route, inline mode, freq 1/2"
    nsx enc ip -6 route add 2001:db8:4::3/128 encap ioam6 trace prealloc type 0x800000 \
        ns 123 size 12 via 2001:db8:2::2 dev v-enc-tra
    check route-pto $? "ip route encap ioam6 trace prealloc (PTO)"
    info "$(nsx enc ip -6 route show 2001:db8:4::2/128)"

    err=$(nsx enc ioam-dex-route add 2001:db8:9::/64 dex trace-type 0x800000 ns 123 \
        ext-flags 0x20 via 2001:db8:2::2 dev v-enc-tra 2>&1)
    rc=$?
    [ $rc = 1 ] && echo "$err" | grep -q "unsupported DEX extension flags"
    check extack-ext-flags $? "$err"
    err=$(nsx enc ioam-dex-route add 2001:db8:9::/64 dex trace-type 0x000001 ns 123 \
        via 2001:db8:2::2 dev v-enc-tra 2>&1)
    rc=$?
    [ $rc = 1 ] && echo "$err" | grep -q "reserved DEX trace type bits set"
    check extack-reserved-bit $? "$err"

    start_daemons || { check exporters 1 "ioam-exporter did not start"; return; }
    check exporters 0 "ioam-exporter running in enc, tra, dec"

    scenario A 2001:db8:4::2 5001 rcv
    scenario B 2001:db8:3::3 5002 dec
    scenario P 2001:db8:4::3 5003 rcv
    stop_daemons

    check_dex_flow A 123 $PKTS
    check_dex_flow B 124 $((PKTS / 2))
    [ "$(cat $out/A.flow)" != "$(cat $out/B.flow)" ]
    check flows-differ $? "flow A $(cat $out/A.flow), flow B $(cat $out/B.flow)"

    got=$(grep '^recv total' $out/A.recv)
    [ "$got" = "recv total=$PKTS with_hbh=0" ]
    check A-decap-removed $? "receiver behind dec (encap mode): $got"
    got=$(grep '^recv total' $out/B.recv)
    [ "$got" = "recv total=$PKTS with_hbh=0" ]
    check B-decap-removed $? "socket on dec (inline mode, dec is the destination): $got"

    got=$(grep '^recv total' $out/P.recv)
    hops=$(sed -n 's/^recv packet .*hoplimit=\([0-9-]*\).*/\1/p' $out/P.recv | sort -u | tr '\n' ' ')
    [ "$got" = "recv total=$PKTS with_hbh=$PKTS" ] && [ "$hops" = "61 " ]
    check P-unchanged $? "PTO keeps its header to the destination: $got, hop limit [$hops]"
    # mainline fills the hop limit decremented on input: dec 61, tra 62, enc 63 (enc: output)
    for n in tra dec; do
        want="61 62 63"
        [ $n = tra ] && want="62 63"
        lines=$(grep '"kind":"trace"' $out/$n.json | grep -c '"namespace":123,')
        bad=$(grep '"kind":"trace"' $out/$n.json | while read -r line; do
            echo "$line" | grep -o '"hop_limit":[0-9]*' | cut -d: -f2 | tr '\n' ' '; echo
        done | grep -vc "^$want \$")
        [ "$lines" = $PKTS ] && [ "$bad" = 0 ]
        check P-$n-hop-limits $? "$lines trace events, $bad without hop limits [$want]"
    done
    traces=$(grep -c '"kind":"trace"' $out/enc.json)
    [ "$traces" = 0 ]
    check P-enc-no-event $? "$traces trace events at the PTO encapsulating node (want 0)"

    for n in enc tra dec; do
        got=$(grep '^collect ' $out/$n.collect | tail -1)
        ipfix=$(echo "$got" | sed -n 's/.*ipfix=\([0-9]*\).*/\1/p')
        sets=$(echo "$got" | sed -n 's/.*data_sets=\([0-9]*\).*/\1/p')
        [ "${ipfix:-0}" -gt 0 ] && [ "${sets:-0}" -gt 0 ]
        check ipfix-$n $? "collector in $n: $got"
    done
    for n in enc tra dec; do
        [ -s $out/$n.log ] && { info "exporter $n log:"; sed 's/^/INFO   /' $out/$n.log | tail -5; }
    done

    flow_table

    # the kernel has DEBUG_ATOMIC_SLEEP, PROVE_LOCKING and PROVE_RCU: none may have spoken
    dmesg >$out/dmesg
    reports=$(grep -E 'WARNING:|BUG:|suspicious RCU usage|possible circular locking|inconsistent lock state|possible recursive locking' $out/dmesg)
    [ -z "$reports" ] && grep -q 'Lock dependency validator' $out/dmesg
    check kernel-clean $? "${reports:-lockdep on, no warning, BUG, lockdep or RCU report in dmesg}"
}

main
finish
