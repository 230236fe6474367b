# Shell helpers shared by kernel-patches/check.sh and kernel-patches/qemu/run-dex-test.sh.
# shellcheck shell=bash

# Installs the Debian packages among "$@" that are not installed yet.
ensure_packages() {
    local missing=()
    for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
    [ ${#missing[@]} -eq 0 ] && return
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
}
