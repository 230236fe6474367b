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
