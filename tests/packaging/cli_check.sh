#!/usr/bin/env bash
# cli_check.sh CHECK SOURCE_DIR BINARY_DIR
#   version  every binary's --version prints "<name> <project(VERSION)>", and "(git ...)" when
#            the sources are a git checkout
#   logs     both daemons write --log-format json lines to --log-file and reopen it on SIGHUP
#            after a rotation (the collector on loopback, the exporter with --print json)
#   man      every man page renders with `man -l` without a warning and has its sections; the
#            OPTIONS of a CLI11 binary name every flag its --help lists
# Exit 77 (ctest SKIPPED) only when man-db is missing.
set -euo pipefail

check=$1 src=$2 bin=$3
fail() { echo "FAIL: $*" >&2; exit 1; }
# "<name> <path> cli|hand" per binary registered with ioam_binary() (written by man/).
[ -s "$bin/binaries.txt" ] || fail "$bin/binaries.txt missing"
version=$(sed -n 's/^project(ioam-ipfix VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")
[ -n "$version" ] || fail "no project(VERSION) in $src/CMakeLists.txt"

case $check in
version)
  git_part=
  if git -C "$src" rev-parse --git-dir >/dev/null 2>&1; then
    git_part=" \\(git [0-9a-z.-]+\\)"
  fi
  while read -r name path _; do
    out=$("$path" --version) || fail "$name --version exited $?"
    [[ $out =~ ^$name\ ${version//./\\.}$git_part$ ]] || fail "$name --version printed '$out'"
    echo "$out"
  done <"$bin/binaries.txt"
  ;;
man)
  command -v man >/dev/null || { echo "SKIPPED LOUDLY: man not installed (man-db)" >&2; exit 77; }
  while read -r name path kind; do
    page=$bin/man/$name.1
    [ -f "$page" ] || fail "$page not built"
    # groff's warnings (bad requests, unbreakable lines) go to stderr.
    text=$(MANWIDTH=80 LC_ALL=C.UTF-8 man --warnings -l "$page" 2>"$bin/man/$name.warnings") ||
      fail "man -l $page failed"
    [ ! -s "$bin/man/$name.warnings" ] || fail "$name.1: $(cat "$bin/man/$name.warnings")"
    for section in NAME SYNOPSIS DESCRIPTION OPTIONS EXAMPLES "SEE ALSO"; do
      grep -q "^$section" <<<"$text" || fail "$name.1 has no $section section"
    done
    grep -q -- "--version" <<<"$text" || fail "$name.1 does not document --version"
    if [ "$kind" = cli ]; then
      for flag in $("$path" --help | grep -o -- '--[a-z][a-z0-9-]*' | sort -u); do
        grep -q -- "$flag" <<<"$text" || fail "$name.1 misses $flag, which --help lists"
      done
    fi
    echo "$name.1 renders ($(wc -l <<<"$text") lines)"
  done <"$bin/binaries.txt"
  ;;
logs)
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/ioam-logs-XXXX")
  pids=()
  trap 'kill "${pids[@]}" 2>/dev/null; wait; rm -rf "$tmp"' EXIT
  # Waits up to 10 s for a line matching $2 in file $1.
  wait_line() {
    for _ in $(seq 100); do grep -q -- "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
    fail "no '$2' in $1: $(cat "$1" 2>/dev/null)"
  }
  "$bin/collector/ioam-collector" --db "$tmp/c.db" --udp-listen 127.0.0.1:0 --tcp-listen '' \
    --http-listen 127.0.0.1:0 --log-format json --log-file "$tmp/collector.log" &
  pids+=($!)
  wait_line "$tmp/collector.log" '"message":"ioam-collector: IPFIX'
  names=(collector)
  # The exporter needs CAP_NET_ADMIN and the kernel's IOAM6 family; without them it exits.
  "$bin/exporter/ioam-exporter" --print json --log-format json --log-file "$tmp/exporter.log" \
    >/dev/null 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do
    grep -q '"message":"listening to IOAM6' "$tmp/exporter.log" 2>/dev/null && break
    kill -0 "${pids[1]}" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "${pids[1]}" 2>/dev/null; then
    wait_line "$tmp/exporter.log" '"message":"listening to IOAM6'
    names+=(exporter)
  else
    echo "exporter part SKIPPED LOUDLY: $(cat "$tmp/exporter.log" 2>/dev/null)"
  fi
  for i in "${!names[@]}"; do
    mv "$tmp/${names[$i]}.log" "$tmp/${names[$i]}.log.1"
    kill -HUP "${pids[$i]}"
    wait_line "$tmp/${names[$i]}.log" '"message":"log file reopened"'
    python3 -c 'import json, sys; [json.loads(l) for f in sys.argv[1:] for l in open(f)]' \
      "$tmp/${names[$i]}.log" "$tmp/${names[$i]}.log.1" || fail "${names[$i]}: a line is not JSON"
    echo "ioam-${names[$i]}: JSON log lines, reopened on SIGHUP"
  done
  ;;
*)
  fail "unknown check $check"
  ;;
esac
