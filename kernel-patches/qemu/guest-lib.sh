# Sourced first by every guest /init of the QEMU harnesses (installed as /etc/guest-lib.sh):
# the busybox environment and the file systems a test needs.
# shellcheck shell=sh

export PATH=/usr/bin:/bin
# busybox sh prefers its own applets to PATH: iproute2 is needed (netns, ioam6, seg6 encap)
ip() { /usr/bin/ip "$@"; }
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
mkdir -p /run/netns

info() { echo "INFO $*"; }
nsx() { ns=$1; shift; ip netns exec "$ns" "$@"; }

# Polls a condition (any command) every 0.1 s until it holds; fails after $1 seconds. Tests wait
# for what they need (a line printed, a counter moved), never for a fixed time.
wait_for() {  # seconds, what (for the log), command...
    wait_left=$(($1 * 10)) wait_what=$2
    shift 2
    until "$@"; do
        wait_left=$((wait_left - 1))
        [ "$wait_left" -gt 0 ] || { info "timed out waiting for $wait_what"; return 1; }
        sleep 0.1
    done
}

# The guest's last lines, which the host reads, then power off.
finish_guest() {  # passed failed "summary fields"
    echo "SUMMARY $3 failed=$2 kernel=$(uname -r)"
    if [ "$2" = 0 ] && [ "$1" -gt 0 ]; then echo "RESULT: PASS"; else echo "RESULT: FAIL"; fi
    sync
    reboot -f
}
