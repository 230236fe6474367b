#!/usr/bin/env bash
# deb_test.sh SOURCE_DIR BINARY_DIR: builds the .deb packages of BINARY_DIR (cpack), installs
# them with dpkg -i into a clean Debian 12 chroot (debootstrap --variant=minbase, cached as a
# tarball under BINARY_DIR/packaging-test), then checks, inside the chroot: --version of every
# binary, the collector's system user, the man pages, the documents and configs the units name,
# and `systemd-analyze verify` of the installed units.
# Needs root, debootstrap and the Debian mirror (IOAM_DEBIAN_MIRROR, default deb.debian.org);
# exit 77 (ctest skip) without them.
set -euo pipefail

src=$1 bin=$2
skip() { echo "SKIPPED LOUDLY: $*" >&2; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "needs root (chroot, dpkg -i)"
for tool in debootstrap cpack dpkg-deb chroot; do
  command -v "$tool" >/dev/null || skip "$tool not installed (scripts/install-deps.sh)"
done

cache=$bin/packaging-test
mkdir -p "$cache"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ioam-deb-test-$$-XXXX")
root=$tmp/root
cleanup() {
  mountpoint -q "$root/proc" && umount "$root/proc"
  rm -rf "$tmp"
}
trap cleanup EXIT

cpack -G DEB --config "$bin/CPackConfig.cmake" -B "$tmp/pkgs" >"$tmp/cpack.log" 2>&1 ||
  { cat "$tmp/cpack.log" >&2; exit 1; }
mapfile -t debs < <(ls "$tmp"/pkgs/*.deb)
[ "${#debs[@]}" -eq 2 ] || { echo "expected 2 packages, cpack made: ${debs[*]}" >&2; exit 1; }
for d in "${debs[@]}"; do echo "built $(basename "$d"): $(dpkg-deb -f "$d" Depends)"; done

# The chroot: a minbase Debian 12 with systemd (for systemd-analyze) and the packages' runtime
# libraries, cached per set of dependencies so that later runs only unpack it.
deps=$(for d in "${debs[@]}"; do dpkg-deb -f "$d" Depends; done | tr ',' '\n' |
  sed 's/(.*)//; s/|.*//; s/ //g' | sed '/^$/d' | sort -u)
key=$(printf '%s\n' $deps | sha256sum | cut -c1-16)
tarball=$cache/bookworm-$key.tar
mirror=${IOAM_DEBIAN_MIRROR:-http://deb.debian.org/debian}
if [ ! -f "$tarball" ]; then
  echo "creating the chroot (debootstrap bookworm from $mirror, cached in $tarball)"
  debootstrap --variant=minbase --include=systemd bookworm "$root" "$mirror" \
    >"$tmp/debootstrap.log" 2>&1 ||
    skip "debootstrap could not build the chroot from $mirror: $(tail -2 "$tmp/debootstrap.log")"
  # apt in the chroot, not --include: some dependencies are virtual (libspdlog1.10-fmt9).
  cp /etc/resolv.conf "$root/etc/resolv.conf"
  DEBIAN_FRONTEND=noninteractive chroot "$root" apt-get install -y --no-install-recommends \
    $deps >"$tmp/apt.log" 2>&1 || { cat "$tmp/apt.log" >&2; exit 1; }
  chroot "$root" apt-get clean
  tar -C "$root" -cf "$tarball.part" . && mv "$tarball.part" "$tarball"
else
  mkdir "$root"
  tar -C "$root" -xf "$tarball"
fi

in_root() { chroot "$root" "$@"; }
cp "${debs[@]}" "$root/tmp/"
# dpkg -i alone: every dependency must already be satisfied by the clean root.
in_root sh -c 'dpkg -i /tmp/*.deb'

fail() { echo "FAIL: $*" >&2; exit 1; }
version=$(sed -n 's/^project(ioam-ipfix VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")
# Every binary registered with ioam_binary() (binaries.txt, written by man/).
while read -r b _; do
  out=$(in_root "/usr/bin/$b" --version) || fail "$b --version exited non-zero"
  [[ $out == "$b $version"* ]] || fail "$b --version printed '$out', expected '$b $version...'"
  echo "$out"
  [ -f "$root/usr/share/man/man1/$b.1" ] || fail "man page of $b not installed"
done <"$bin/binaries.txt"
in_root getent passwd ioam-collector >/dev/null || fail "postinst did not create ioam-collector"
for c in exporter collector; do
  [ -f "$root/usr/share/doc/ioam-ipfix/examples/ioam-$c.conf" ] || fail "example config $c"
done

mount -t proc proc "$root/proc"
for unit in ioam-exporter ioam-collector; do
  path=/usr/lib/systemd/system/$unit.service
  [ -f "$root$path" ] || fail "$path not installed"
  for doc in $(sed -n 's#^Documentation=file://##p' "$root$path"); do
    [ -f "$root$doc" ] || fail "$unit.service documents $doc, not installed"
  done
  grep -q "^ExecStart=/usr/bin/$unit " "$root$path" ||
    fail "$unit.service does not start /usr/bin/$unit"
  # Unknown keys are only warnings for systemd: any output fails the check.
  out=$(in_root systemd-analyze verify "$path" 2>&1) || fail "$unit.service: $out"
  [ -z "$out" ] || fail "$unit.service: $out"
  echo "$unit.service verified in the chroot"
done
echo "packages installed and checked: $(basename -a "${debs[@]}" | tr '\n' ' ')"
