#!/bin/busybox sh
# /init of the run-dex-test.sh guest (kernel with kernel-patches/linux-6.12-dex).
#
#   snd --- enc --- tra --- dec --- rcv        (one network namespace each, veth links)
#
# enc is the IOAM encapsulating node, tra a transit node, dec the decapsulating node; the three
# have IOAM namespaces 123, 124 and 126. An ioam-exporter per node (in the initial namespace,
# --netns: JSON lines and IPFIX) exports to one ioam-collector, whose DEX flow view is checked.
# Scenarios, one flow each, sent by snd with hop limit 64:
#   A  DEX, encap mode (ip6ip6 to dec), ns 123, Flow ID + Sequence Number -> rcv
#   B  DEX, inline mode, freq 1/2, ns 124, Flow ID + Sequence Number       -> dec itself
#   P  PTO (Pre-allocated Trace, iproute2), inline mode, ns 123           -> rcv
#   L  DEX, encap mode, ns 126, timestamps; a blackhole route on tra drops the packets 4..6
#      after tra reported them: the collector must place the loss between tra and dec -> rcv
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
    ip -n rcv addr add 2001:db8:4::5/64 dev v-rcv-dec nodad
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
        nsx $n ip ioam namespace add 126 data 0xcafe0126 || return 1
        id=$((id + 1))
    done
    # dec ends the ip6ip6 tunnel of scenario A with the fallback tunnel device
    ip -n dec link set ip6tnl0 up || return 1
}

# ---------------------------------------------------------------- exporters and collector
# The collector's HTTP API and each exporter's /metrics, in the initial namespace.
API=http://127.0.0.1:9555
metrics_port() { case $1 in enc) echo 9101 ;; tra) echo 9102 ;; dec) echo 9103 ;; esac; }

http_get() { wget -q -O - "$1" 2>/dev/null; }

# Value of one time series (name with its labels, as /metrics prints it), 0 when absent.
metric() {  # url, series
    http_get "$1/metrics" | awk -v m="$2" '$1 == m { v = $2 } END { print v + 0 }'
}

at_least() {  # url, series, value
    [ "$(metric "$1" "$2")" -ge "$3" ]
}

# DEX (or trace) events exporter $1 received from its node's kernel reached $3.
events_reach() {  # node, dex|trace, count
    at_least "http://127.0.0.1:$(metrics_port "$1")" "ioam_exporter_events_total{type=\"$2\"}" "$3"
}

start_daemons() {
    ip link set lo up
    ioam-collector --udp-listen '[::1]:4739' --tcp-listen '' --db $out/collector.db \
        --http-listen 127.0.0.1:9555 >$out/collector.log 2>&1 &
    echo $! >$out/collector.pid
    domain=1
    for n in enc tra dec; do
        ioam-exporter --netns /run/netns/$n --domain-id $domain --print json \
            --collector 'udp://[::1]:4739' --flush-interval 50 \
            --metrics-listen "127.0.0.1:$(metrics_port $n)" >$out/$n.json 2>$out/$n.log &
        echo $! >$out/$n.exporter.pid
        domain=$((domain + 1))
    done
    # /metrics answers once the exporter listens to the kernel (subscribed before serving)
    for n in enc tra dec; do
        wait_for 60 "exporter $n" http_get "http://127.0.0.1:$(metrics_port $n)/metrics" \
            >/dev/null || { info "exporter $n:"; cat $out/$n.log; return 1; }
    done
    wait_for 60 collector http_get $API/readyz >/dev/null \
        || { info "collector:"; cat $out/collector.log; return 1; }
}

stop_exporters() {
    for n in enc tra dec; do kill -TERM "$(cat $out/$n.exporter.pid)" 2>/dev/null; done
    for n in enc tra dec; do wait "$(cat $out/$n.exporter.pid)" 2>/dev/null; done
}

stop_collector() {
    kill -TERM "$(cat $out/collector.pid)" 2>/dev/null
    wait "$(cat $out/collector.pid)" 2>/dev/null
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
start_receiver() {  # namespace, port, count, output
    nsx $1 dex-vm-probe recv $2 $3 60 >$4 2>&1 &
    rpid=$!
    wait_for 30 "receiver on port $2" grep -q '^recv listening' $4
}

scenario() {  # name, destination, port, receiver namespace
    start_receiver $4 $3 $PKTS $out/$1.recv
    nsx snd dex-vm-probe send $2 $3 $PKTS 64 >/dev/null
    wait $rpid
}

# Scenario L: 10 packets of one flow (one source port, so one Flow ID); packets 4..6 are dropped
# by tra after its DEX report (a blackhole route to the tunnel end), so enc reports 10, tra 10
# and dec 7. Each step waits for tra's exporter to count the packets, so the route changes
# between the right packets.
loss_scenario() {
    nsx enc ioam-dex-route add 2001:db8:4::5/128 mode encap tundst 2001:db8:3::2 \
        dex trace-type 0xf40000 ns 126 ext-flags 0xc0 dev v-enc-tra
    check route-dex-loss $? "ioam-dex-route, encap mode, ns 126"
    start_receiver rcv 5004 7 $out/L.recv
    base=$(metric "http://127.0.0.1:$(metrics_port tra)" 'ioam_exporter_events_total{type="dex"}')
    nsx snd dex-vm-probe send 2001:db8:4::5 5004 4 64 7004 >/dev/null
    wait_for 30 "tra: 4 packets of L" events_reach tra dex $((base + 4))
    ip -n tra -6 route add blackhole 2001:db8:3::2/128
    nsx snd dex-vm-probe send 2001:db8:4::5 5004 3 64 7004 >/dev/null
    wait_for 30 "tra: 7 packets of L" events_reach tra dex $((base + 7))
    ip -n tra -6 route del blackhole 2001:db8:3::2/128
    nsx snd dex-vm-probe send 2001:db8:4::5 5004 3 64 7004 >/dev/null
    wait $rpid
    got=$(grep '^recv total' $out/L.recv)
    [ "$got" = "recv total=7 with_hbh=0" ]
    check L-received $? "receiver: $got (want 7 of 10: 3 dropped at tra)"
}

# Per-packet objects of a DEX flow view, one line each, "<seq> <path> <delays> <missing>"
# (comma-separated lists; the view's JSON keys may come in any order).
flow_packets() {
    grep -o '{[^{}]*"sequence_number"[^{}]*}' | while read -r p; do
        echo "$(echo "$p" | sed 's/.*"sequence_number":\([0-9]*\).*/\1/')" \
            "$(echo "$p" | sed 's/.*"path":\[\([^]]*\)\].*/\1/')" \
            "$(echo "$p" | sed 's/.*"segment_delay_ns":\[\([^]]*\)\].*/\1/')" \
            "$(echo "$p" | sed 's/.*"missing":\[\([^]]*\)\].*/\1/')"
    done
}

# Every delay in the comma-separated list $1 is a number > 0 (not null: both nodes stamped the
# packet; not 0: a hop takes tens of microseconds here, so 0 would mean a coarse clock).
delays_ok() {
    for d in $(echo "$1" | tr ',' ' '); do
        case $d in '' | 0 | *[!0-9]*) return 1 ;; esac
    done
}

# The collector's view of flow L: GET /api/v1/dex/flows/<id> once it holds the 27 reports.
check_collector() {
    flow=$(dex_events $out/enc.json 126 | cut -d' ' -f1 | sort -u)
    view() { http_get "$API/api/v1/dex/flows/$flow" >$out/L.view; }
    reports() { view && grep -q '"reports":27[,}]' $out/L.view; }
    wait_for 60 "27 reports of flow L in the collector" reports
    check L-collector-reports $? "flow $flow: $(grep -o '"reports":[0-9]*' $out/L.view) (want 27)"
    nodes=$(grep -o '"nodes":\[[^]]*\]' $out/L.view)
    [ "$nodes" = '"nodes":[1,2,3]' ]
    check L-collector-path $? "$nodes (want enc, tra, dec: [1,2,3])"
    flow_packets <$out/L.view >$out/L.packets
    for n in enc tra dec; do
        info "L packet 0 at $n: $(grep '"namespace":126,' $out/$n.json \
            | grep '"sequence_number":0[,}]' | grep -o '"timestamp_[a-z]*":[0-9]*' | tr '\n' ' ')"
    done
    bad=0
    for seq in $(seq 0 9); do
        line=$(grep "^$seq " $out/L.packets) || { bad=$((bad + 1)); continue; }
        set -- $line
        case $seq in
            4 | 5 | 6) [ "$2" = 1,2 ] && [ "$4" = 3 ] && delays_ok "$3" ;;
            *) [ "$2" = 1,2,3 ] && [ $# = 3 ] && delays_ok "$3" \
                && [ "$(echo "$3" | tr ',' ' ' | wc -w)" = 2 ] ;;
        esac || { bad=$((bad + 1)); info "L packet: $line"; }
    done
    [ "$bad" = 0 ] && [ "$(wc -l <$out/L.packets)" = 10 ]
    check L-collector-packets $? "$(wc -l <$out/L.packets) packets, $bad not as expected (want\
 0..9 through 1,2,3 with 2 delays > 0 ns, but 4..6 through 1,2 with 1 delay, missing 3)"
    loss=$(grep -o '"loss":\[[^]]*\]' $out/L.view)
    incomplete=$(grep -o '"incomplete_packets":[0-9]*' $out/L.view)
    [ "$loss" = '"loss":[{"last_seen_node":2,"packets":3}]' ] \
        && [ "$incomplete" = '"incomplete_packets":3' ]
    check L-collector-loss $? "$loss, $incomplete (want 3 packets last seen at tra, node 2)"
    http_get "$API/api/v1/exporters" >$out/exporters.json
    for domain in 1 2 3; do
        e=$(grep -o "{[^{}]*\"domain\":${domain}[,}][^{}]*}" $out/exporters.json)
        records=$(echo "$e" | sed -n 's/.*"records":\([0-9]*\).*/\1/p')
        lost=$(echo "$e" | sed -n 's/.*"lost":\([0-9]*\).*/\1/p')
        [ "${records:-0}" -gt 0 ] && [ "$lost" = 0 ]
        check ipfix-domain-$domain $? \
            "collector, exporter of domain $domain: records=${records:-none} lost=${lost:-none}"
    done
}

# Sequence Numbers of $2 packets of one new flow (source port $1) to rcv's 2001:db8:4::4.
table_flow() {
    start_receiver rcv 6001 $2 $out/F.$1
    nsx snd dex-vm-probe send 2001:db8:4::4 6001 $2 64 $1 >/dev/null
    wait $rpid
    sed -n 's/^recv packet .*dex_seq=//p' $out/F.$1 | tr '\n' ' '
}

# /proc/net/ioam6_dex counter of node $1 (Ioam6DexFlows, Ioam6DexFlowsRefused).
dex_stat() {  # node, name
    nsx $1 cat /proc/net/ioam6_dex | awk -v k="$2" '$1 == k { print $2 }'
}

flows_drained() { [ "$(dex_stat enc Ioam6DexFlows)" = 0 ]; }

# The per-netns table keeps at most net.ipv6.ioam6_dex_max_flows flows (4096 by default) and
# forgets those idle for net.ipv6.ioam6_dex_flow_timeout seconds (30); /proc/net/ioam6_dex
# counts the flows kept and the packets of flows refused.
flow_table() {
    nsx enc ioam-dex-route add 2001:db8:4::4/128 mode inline dex trace-type 0x800000 ns 125 \
        ext-flags 0xc0 via 2001:db8:2::2 dev v-enc-tra
    check route-dex-table $? "ioam-dex-route, inline mode, ns 125"
    defaults="$(nsx enc sysctl -n net.ipv6.ioam6_dex_max_flows) $(nsx enc sysctl -n \
        net.ipv6.ioam6_dex_flow_timeout) $(dex_stat enc Ioam6DexFlowsRefused)"
    [ "$defaults" = "4096 30 0" ]
    check F-defaults $? "max flows, timeout, refused: $defaults (want 4096 30 0)"
    ! nsx enc sysctl -qw net.ipv6.ioam6_dex_max_flows=0 2>/dev/null \
        && ! nsx enc sysctl -qw net.ipv6.ioam6_dex_max_flows=65537 2>/dev/null \
        && ! nsx enc sysctl -qw net.ipv6.ioam6_dex_flow_timeout=0 2>/dev/null \
        && [ "$(nsx tra sysctl -n net.ipv6.ioam6_dex_max_flows)" = 4096 ]
    check F-sysctl-range $? "0 and 65537 flows and a 0 s timeout refused; per network namespace"
    seqs=$(table_flow 29999 2)
    [ "$seqs" = "0 1 " ]
    check F-tracked $? "a new flow while the table has room: sequence numbers [$seqs] (want 0 1)"
    nsx enc sysctl -qw net.ipv6.ioam6_dex_max_flows=64
    kept=$(dex_stat enc Ioam6DexFlows)
    nsx snd dex-vm-probe flows 2001:db8:4::4 6000 20000 100 >/dev/null
    refused=$((100 - (64 - kept)))
    counted() {
        [ "$(dex_stat enc Ioam6DexFlows)" = 64 ] \
            && [ "$(dex_stat enc Ioam6DexFlowsRefused)" = $refused ]
    }
    wait_for 30 "64 flows kept and $refused refused" counted
    check F-refused-counted $? "$kept flows kept, 100 new ones with a bound of 64:\
 $(dex_stat enc Ioam6DexFlows) kept, $(dex_stat enc Ioam6DexFlowsRefused) refused (want 64, $refused)"
    seqs=$(table_flow 30000 2)
    [ "$seqs" = "0 0 " ] && [ "$(dex_stat enc Ioam6DexFlowsRefused)" = $((refused + 2)) ]
    check F-bounded $? "a new flow once 64 flows are kept: [$seqs] (want 0 0: not kept, counted)"
    nsx enc sysctl -qw net.ipv6.ioam6_dex_flow_timeout=1
    wait_for 60 "the flow table to drain (1 s timeout)" flows_drained
    check F-drained $? "timeout 1 s: $(dex_stat enc Ioam6DexFlows) flows kept (want 0)"
    seqs=$(table_flow 30001 2)
    [ "$seqs" = "0 1 " ]
    check F-expired $? "a new flow once idle flows are forgotten: [$seqs] (want 0 1)"
}

# The series' own selftest (tools/testing/selftests/net/ioam6_dex.sh), run by bash as kselftest
# runs it: under busybox sh, "ip" would be busybox's applet, which has no netns.
selftest() {
    (cd /selftests/net && bash ./ioam6_dex.sh) >$out/selftest.log 2>&1
    rc=$?
    sed 's/^/INFO   /' $out/selftest.log
    [ $rc = 0 ] && grep -q '^- Tests passed: [1-9]' $out/selftest.log \
        && grep -q '^- Tests failed: 0$' $out/selftest.log
    check selftest-ioam6_dex $? \
        "$(grep '^- Tests' $out/selftest.log | tr '\n' ' ')(exit $rc; 4 is a skip, not a pass)"
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
    check exporters 0 "ioam-exporter for enc, tra, dec and ioam-collector running"

    scenario A 2001:db8:4::2 5001 rcv
    scenario B 2001:db8:3::3 5002 dec
    scenario P 2001:db8:4::3 5003 rcv
    loss_scenario
    # DEX events: A 10 + B 5 + L 10 at enc and tra, L 7 at dec; trace events: P 10 at tra, dec
    for want in "enc dex 25" "tra dex 25" "dec dex 22" "tra trace 10" "dec trace 10"; do
        wait_for 60 "exporter events: $want" events_reach $want
    done
    stop_exporters

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

    check_collector
    stop_collector
    for n in enc tra dec; do
        [ -s $out/$n.log ] && { info "exporter $n log:"; sed 's/^/INFO   /' $out/$n.log | tail -5; }
    done

    flow_table
    selftest

    # segment delays need a clock finer than the 10 to 1000 us a hop takes here (not jiffies)
    clock=$(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)
    [ "$clock" = tsc ] || [ "$clock" = tsc-early ]
    check clocksource $? "$clock at the end of the run (want the TSC: tsc_early_khz, tsc=reliable)"

    # the kernel has DEBUG_ATOMIC_SLEEP, PROVE_LOCKING and PROVE_RCU: none may have spoken
    dmesg >$out/dmesg
    reports=$(grep -E 'WARNING:|BUG:|suspicious RCU usage|possible circular locking|inconsistent lock state|possible recursive locking' $out/dmesg)
    [ -z "$reports" ] && grep -q 'Lock dependency validator' $out/dmesg
    check kernel-clean $? "${reports:-lockdep on, no warning, BUG, lockdep or RCU report in dmesg}"
}

main
finish
