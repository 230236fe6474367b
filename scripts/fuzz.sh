#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ with clang (ASan+UBSan) and runs them (docs/fuzzing.md).
#
#   scripts/fuzz.sh --smoke [--seconds N] [TARGET...]
#       CI: replays tests/data/fuzz-crashers/<target>/, then fuzzes each target from its seed
#       corpus for N seconds (default 5). Fails on the first crash, leak, timeout or failed check.
#   scripts/fuzz.sh --campaign SECONDS [TARGET...]
#       Fuzzes each target for SECONDS with one worker (-fork=1) that carries on past crashes,
#       keeping the corpus in BUILD/corpus/<target> across runs, and prints the executions per
#       target. Crashes go to BUILD/artifacts/<target>/.
#
# Environment: IOAM_FUZZ_BUILD (build directory, default build/fuzz), IOAM_FUZZ_WERROR (ON).
set -euo pipefail
cd "$(dirname "$0")/.."

ALL_TARGETS=(ipfix_message netlink_event ioam_codecs http_request collector_config exporter_config
             record_block)
build=${IOAM_FUZZ_BUILD:-build/fuzz}
mode=""
seconds=5
targets=()
while (($#)); do
    case "$1" in
        --smoke) mode=smoke ;;
        --campaign) mode=campaign; seconds=${2:?--campaign needs SECONDS}; shift ;;
        --seconds) seconds=${2:?--seconds needs N}; shift ;;
        -h | --help) sed -n '2,13s/^# \{0,1\}//p' "$0"; exit 0 ;;
        -*) echo "fuzz.sh: unknown option $1" >&2; exit 2 ;;
        *) targets+=("$1") ;;
    esac
    shift
done
[[ -n $mode ]] || { echo "fuzz.sh: give --smoke or --campaign SECONDS" >&2; exit 2; }
[[ $seconds =~ ^[1-9][0-9]*$ ]] || { echo "fuzz.sh: seconds must be a positive integer" >&2; exit 2; }
((${#targets[@]})) || targets=("${ALL_TARGETS[@]}")
for t in "${targets[@]}"; do
    [[ " ${ALL_TARGETS[*]} " == *" $t "* ]] || { echo "fuzz.sh: unknown target $t" >&2; exit 2; }
done

command -v clang++ >/dev/null || { echo "fuzz.sh: clang++ not found (apt-get install clang)" >&2; exit 1; }
launcher=()
if command -v ccache >/dev/null; then
    launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
fi
echo "== fuzz: build ($build)"
CC=clang CXX=clang++ cmake -S . -B "$build" -G Ninja -DIOAM_FUZZ=ON -DIOAM_BUILD_TESTS=OFF \
    -DIOAM_BUILD_BENCH=OFF -DIOAM_WERROR="${IOAM_FUZZ_WERROR:-ON}" "${launcher[@]}" >/dev/null
build_targets=()
for t in "${targets[@]}"; do build_targets+=("fuzz_$t"); done
cmake --build "$build" --target "${build_targets[@]}"
python3 fuzz/make_seeds.py . "$build/seeds"

# Inputs are small: an IPFIX input holds a few messages, the others one request or event.
max_len() {
    case "$1" in
        ipfix_message) echo 8192 ;;
        netlink_event | ioam_codecs) echo 4096 ;;
        *) echo 1024 ;;
    esac
}

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
common_flags=(-timeout=10 -rss_limit_mb=2048 -print_final_stats=1)

# Executions from a libFuzzer log: its last status line "#N ..." (in fork mode "#N: ...", the
# total of all jobs, where the final statistics count only the parent's own runs).
executions() {
    local n
    n=$(sed -n 's/^#\([0-9][0-9]*\):*[[:space:]].*/\1/p' "$1" | tail -1)
    echo "${n:-0}"
}

passed=0
failed=0
report=()
for t in "${targets[@]}"; do
    bin="$build/fuzz/fuzz_$t"
    seeds="$build/seeds/$t"
    artifacts="$build/artifacts/$t"
    mkdir -p "$artifacts"
    log="$build/logs/$t.log"
    mkdir -p "$(dirname "$log")"
    flags=("${common_flags[@]}" -max_len="$(max_len "$t")" -artifact_prefix="$artifacts/")
    if [[ -f $build/seeds/$t.dict ]]; then flags+=(-dict="$build/seeds/$t.dict"); fi
    if [[ $mode == smoke ]]; then
        crashers=()
        if [[ -d tests/data/fuzz-crashers/$t ]]; then
            mapfile -t crashers < <(find "tests/data/fuzz-crashers/$t" -type f | sort)
        fi
        if ((${#crashers[@]})) && ! "$bin" "${flags[@]}" "${crashers[@]}" >"$log" 2>&1; then
            echo "fuzz: $t FAILED replaying a known crasher (log: $log)"
            grep 'Running:' "$log" | tail -1 | sed 's/^/    /' || true
            grep -m2 -E 'ERROR|fuzz check failed|what\(\)|runtime error' "$log" | sed 's/^/    /' || true
            failed=$((failed + 1))
            continue
        fi
        corpus="$build/smoke/$t"
        rm -rf "$corpus"
        mkdir -p "$corpus"
        if "$bin" "${flags[@]}" -max_total_time="$seconds" "$corpus" "$seeds" >"$log" 2>&1; then
            echo "fuzz: $t ok: ${#crashers[@]} crashers replayed, $(executions "$log") executions in ${seconds} s"
            passed=$((passed + 1))
        else
            echo "fuzz: $t FAILED (log: $log; input saved in $artifacts/)"
            grep -m3 -E 'ERROR|fuzz check failed|what\(\)|runtime error' "$log" | sed 's/^/    /' || true
            failed=$((failed + 1))
        fi
    else
        corpus="$build/corpus/$t"
        mkdir -p "$corpus"
        before=$(find "$artifacts" -type f | wc -l)
        # One worker that restarts after a crash, so one known bug does not end the campaign.
        "$bin" "${flags[@]}" -fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 \
            -max_total_time="$seconds" "$corpus" "$seeds" >"$log" 2>&1 || true
        runs=$(executions "$log")
        found=$(($(find "$artifacts" -type f | wc -l) - before))
        line="$t: $runs executions in $seconds s ($((runs / seconds))/s), corpus $(find "$corpus" -type f | wc -l) inputs, $found new crash/timeout/oom inputs"
        echo "fuzz: $line"
        report+=("$line")
        if ((found)); then failed=$((failed + 1)); else passed=$((passed + 1)); fi
    fi
done

if [[ $mode == campaign ]]; then
    echo "== fuzz campaign summary"
    printf '  %s\n' "${report[@]}"
fi
echo "fuzz: $passed passed, $failed failed"
((failed == 0))
