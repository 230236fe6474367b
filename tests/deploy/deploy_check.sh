#!/usr/bin/env bash
# Deployment checks that need no Docker engine: deploy_check.sh CHECK SOURCE_DIR BINARY_DIR
#   compose     docker-compose validates docker/compose.yaml
#   prometheus  promtool checks docker/prometheus/prometheus.yml
#   systemd     systemd-analyze verifies deploy/systemd/*.service, ExecStart on the built binaries
#   lint        dockerfilelint (npm, installed into a temporary prefix) on docker/*.Dockerfile
#   packages    build stages install only through scripts/install-deps.sh; runtime stages
#               install runtime libraries of its build packages, and every library the built
#               binaries link directly comes from the runtime stage or the base image
# Exit 77 (ctest SKIP_RETURN_CODE) only when the tool a check needs is missing.
set -euo pipefail

check=$1 src=$2 bin=$3
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ioam-deploy-$check-$$-XXXX")
trap 'rm -rf "$tmp"' EXIT

skip() { echo "SKIPPED LOUDLY: $*" >&2; exit 77; }
need() { command -v "$1" >/dev/null || skip "$1 not installed ($2)"; }

# Packages of a bash array in scripts/install-deps.sh (comments dropped).
deps_list() {
  sed -n "/^$1=(/,/^)/p" "$src/scripts/install-deps.sh" | sed '1d;$d;s/#.*//' | tr -s ' \n' '\n' |
    sed '/^$/d'
}

# Packages apt-get installs in one stage ("build" or "runtime") of a Dockerfile.
stage_packages() {
  awk -v stage="$2" '
    /^FROM / { cur = $NF }
    cur == stage { line = line " " $0; if ($0 !~ /\\$/) { print line; line = "" } }
  ' "$1" | grep -o 'apt-get install[^&;]*' | sed 's/\\//g' | tr ' ' '\n' |
    grep -v -e '^$' -e '^-' -e '^apt-get$' -e '^install$' || true
}

case $check in
compose)
  need docker-compose "Debian package docker-compose, scripts/install-deps.sh"
  docker-compose -f "$src/docker/compose.yaml" config -q
  # The services the dashboard needs, and the exporter only on request (profile).
  services=$(docker-compose -f "$src/docker/compose.yaml" --profile exporter config --services)
  for s in collector exporter prometheus grafana; do
    grep -qx "$s" <<<"$services" || { echo "service $s missing" >&2; exit 1; }
  done
  resolved=$(docker-compose -f "$src/docker/compose.yaml" --profile exporter config)
  # Bind mounts (absolute once resolved) and Dockerfiles must exist.
  for path in $(sed -n 's#^ *- \(/[^:]*\):.*#\1#p' <<<"$resolved") \
              $(sed -n 's#^ *dockerfile: #'"$src"'/#p' <<<"$resolved"); do
    [ -e "$path" ] || { echo "compose refers to missing $path" >&2; exit 1; }
  done
  # The pieces must agree: Prometheus scrapes the collector's HTTP port, Grafana reads the
  # dashboards where the compose file mounts them, through the data source the panels name.
  grep -q '"--http-listen", "0.0.0.0:9555"' "$src/docker/collector.Dockerfile"
  grep -q '"collector:9555"' "$src/docker/prometheus/prometheus.yml"
  grep -q 'dashboards:/var/lib/grafana/dashboards' <<<"$resolved"
  grep -q 'path: /var/lib/grafana/dashboards' "$src/docker/grafana/provisioning/dashboards/ioam.yaml"
  grep -q 'uid: prometheus' "$src/docker/grafana/provisioning/datasources/prometheus.yaml"
  echo "compose file valid, $(wc -w <<<"$services") services"
  ;;
prometheus)
  need promtool "Debian package prometheus, scripts/install-deps.sh"
  promtool check config "$src/docker/prometheus/prometheus.yml"
  ;;
systemd)
  need systemd-analyze "Debian package systemd"
  for unit in "$src"/deploy/systemd/*.service; do
    name=$(basename "$unit" .service)
    [ -x "$bin/${name#ioam-}/$name" ] || { echo "$bin/${name#ioam-}/$name not built" >&2; exit 1; }
    sed "s#/usr/local/bin/$name#$bin/${name#ioam-}/$name#" "$unit" >"$tmp/$name.service"
    # Unknown keys are only warnings for systemd: any output fails the check.
    out=$(systemd-analyze verify "$tmp/$name.service" 2>&1) || { echo "$out" >&2; exit 1; }
    [ -z "$out" ] || { echo "$name.service: $out" >&2; exit 1; }
    echo "$name.service verified"
  done
  ;;
lint)
  need npm "Debian package npm"
  npm install --prefix "$tmp" --no-audit --no-fund --silent dockerfilelint@1 >"$tmp/npm.log" 2>&1 ||
    skip "npm could not install dockerfilelint: $(tail -3 "$tmp/npm.log")"
  for f in "$src"/docker/*.Dockerfile; do
    "$tmp/node_modules/.bin/dockerfilelint" -o cli "$f"
  done
  ;;
packages)
  need apt-cache "Debian package apt"
  mapfile -t build_pkgs < <(deps_list BUILD_PACKAGES)
  mapfile -t all_pkgs < <(deps_list BUILD_PACKAGES; deps_list TEST_PACKAGES)
  # Libraries every debian:12 image has: the binaries may link them without installing them.
  base="libc6 libstdc++6 libgcc-s1"
  build_deps=$(apt-cache depends --no-recommends --no-suggests "${build_pkgs[@]}" |
    sed -n 's/^ *Depends: //p')
  for f in "$src"/docker/*.Dockerfile; do
    name=$(basename "$f" .Dockerfile)
    grep -q '^RUN /src/scripts/install-deps.sh --build-only' "$f" ||
      { echo "$f: build stage does not run scripts/install-deps.sh" >&2; exit 1; }
    for p in $(stage_packages "$f" build); do
      printf '%s\n' "${all_pkgs[@]}" | grep -qx "$p" ||
        { echo "$f: build stage installs $p, which scripts/install-deps.sh does not list" >&2; exit 1; }
    done
    runtime=$(stage_packages "$f" runtime)
    [ -n "$runtime" ] || { echo "$f: no runtime packages found" >&2; exit 1; }
    for p in $runtime; do
      grep -qx -- "$p" <<<"$build_deps" ||
        { echo "$f: runtime package $p is not a dependency of any build package" >&2; exit 1; }
    done
    binary="$bin/$name/ioam-$name"
    [ -x "$binary" ] || { echo "$binary not built" >&2; exit 1; }
    for lib in $(readelf -d "$binary" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
      path=$(ldd "$binary" | awk -v l="$lib" '$1 == l { print $3 }')
      pkg=$(dpkg -S "$(readlink -f "$path")" 2>/dev/null | head -1 | cut -d: -f1) ||
        pkg=$(dpkg -S "$path" | head -1 | cut -d: -f1)
      grep -qw -- "$pkg" <<<"$runtime $base" ||
        { echo "$f: ioam-$name needs $lib from $pkg, not installed in the runtime stage" >&2; exit 1; }
      echo "ioam-$name: $lib <- $pkg"
    done
  done
  ;;
*)
  echo "unknown check $check" >&2
  exit 2
  ;;
esac
