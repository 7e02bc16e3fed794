#!/bin/bash
# tests/run-all.sh: the README's test command. On a fresh Debian 12 machine,
# as root: installs the build dependencies, builds everything twice (normal
# -Werror build, then ASan+UBSan) and runs every test tier that fits CI.
# Long runs (soak, long fuzzing) are separate make targets: make soak, make fuzz.
#
# Environment: JOBS (default 2), SIM_SEEDS (simulator seeds in the normal
# build; the sanitizer build runs a tenth), SKIP_ASAN=1 / SKIP_FUZZ=1 /
# SKIP_SYSTEM=1 to skip those stages, FUZZ_SECONDS (per fuzz target, default 20).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
jobs=${JOBS:-2}

"$top/tests/install-deps.sh"
cd "$top"
[ -x configure ] && [ configure -nt configure.ac ] && [ Makefile.in -nt Makefile.am ] ||
        autoreconf -fi >/dev/null

passed=0 failed=0
# tally DIR: add the automake test-suite counts of one build
tally() {
        local log=$1/test-suite.log p f
        p=$(sed -n 's/^# PASS: *//p' "$log" | head -1)
        f=$(( $(sed -n 's/^# FAIL: *//p' "$log" | head -1) + $(sed -n 's/^# ERROR: *//p' "$log" | head -1) + $(sed -n 's/^# XPASS: *//p' "$log" | head -1) ))
        passed=$((passed + ${p:-0})) failed=$((failed + f))
}

# run_build NAME CONFIGURE-ARGS...: configure, build and `make check` in build-NAME
run_build() {
        local name=$1 dir="$top/build-$1" rc=0
        shift
        echo "=== $name build: configure $*"
        mkdir -p "$dir"
        (cd "$dir" && "$top/configure" -q "$@" && make -s -j"$jobs") || { failed=$((failed + 1)); return 1; }
        echo "=== $name build: make check"
        (cd "$dir" && make -s -j"$jobs" check) || rc=$?
        [ $rc -ne 0 ] && find "$dir" -name '*.log' ! -name test-suite.log ! -name config.log \
                -newer "$dir/Makefile" -exec grep -l -E '^(FAIL|ERROR)' {} + 2>/dev/null |
                while read -r f; do echo "--- $f"; tail -n 40 "$f"; done
        tally "$dir"
        return $rc
}

# run_fuzz: build the libFuzzer targets with clang and run each for a bounded
# time (FUZZ_SECONDS, default 20); `make fuzz` runs them long.
run_fuzz() {
        local dir="$top/build-fuzz" t
        echo "=== fuzz build: configure CC=clang --enable-fuzzing"
        mkdir -p "$dir"
        (cd "$dir" && { [ -f Makefile ] || CC=clang "$top/configure" -q --enable-fuzzing; } &&
                make -s -j"$jobs" $FUZZ_TARGETS) || { failed=$((failed + 1)); return 1; }
        for t in $FUZZ_SCRIPTS; do
                if (cd "$dir" && top_builddir="$dir" top_srcdir="$top" \
                        FUZZ_SECONDS=${FUZZ_SECONDS:-20} sh "$top/$t" > "$dir/${t##*/}.log" 2>&1); then
                        echo "PASS: $t"; passed=$((passed + 1))
                else
                        echo "FAIL: $t"; tail -n 30 "$dir/${t##*/}.log"; failed=$((failed + 1))
                fi
        done
}
# run_system: the packages under a real systemd (tests/system/run.sh: .deb and
# .rpm, lint, one node and a three-node cluster in systemd-nspawn containers).
run_system() {
        local out="$top/build-system.log" rc=0 line p f
        echo "=== system test: tests/system/run.sh (log in build-system.log)"
        "$top/tests/system/run.sh" > "$out" 2>&1 || rc=$?
        grep -E '^(FAIL|SKIP)' "$out" || true
        line=$(grep -E '^system: [0-9]+ passed, [0-9]+ failed' "$out" | tail -1)
        echo "${line:-system: no summary line}"
        p=$(echo "$line" | sed -n 's/^system: \([0-9]*\) passed.*/\1/p')
        f=$(echo "$line" | sed -n 's/.* \([0-9]*\) failed.*/\1/p')
        passed=$((passed + ${p:-0})) failed=$((failed + ${f:-1}))
        if [ $rc -ne 0 ]; then
                [ $rc -eq 77 ] && { echo "system test skipped (needs root)"; return 0; }
                tail -n 40 "$out"
                return 1
        fi
}

FUZZ_TARGETS="tests/fuzz/fuzz_storage tests/fuzz/fuzz_dispatch tests/fuzz/fuzz_config"
FUZZ_SCRIPTS="tests/fuzz/storage-fuzz.sh tests/fuzz/dispatch-fuzz.sh tests/fuzz/config-fuzz.sh"

status=0
run_build default || status=1
if [ "${SKIP_ASAN:-0}" != 1 ]; then
        # The sanitizer build runs a tenth of the simulator seeds and two short
        # fault schedules: the normal build ran the full counts.
        SIM_SEEDS=$(( ${SIM_SEEDS:-10000} / 10 )) FAULT_RUNS=2 FAULT_SECONDS=20 \
                run_build asan --enable-sanitizers || status=1
fi

[ "${SKIP_FUZZ:-0}" = 1 ] || run_fuzz || status=1
[ "${SKIP_SYSTEM:-0}" = 1 ] || run_system || status=1

echo "tests: $passed passed, $failed failed"
exit $status
