#!/bin/sh
# tests/fuzz/config-fuzz.sh: libFuzzer on the configuration parser
# for FUZZ_SECONDS (default 20) seconds. New inputs go to a scratch dir; the seed corpus
# in the source tree is only read.
set -u
secs="${FUZZ_SECONDS:-20}"
work=$(mktemp -d) || exit 99
trap 'rm -rf "$work"' EXIT
# libconfig's own leak on a syntax error is not ours (see the file).
supp=${top_srcdir:-.}/tests/fuzz/lsan-libconfig.supp
LSAN_OPTIONS="suppressions=$supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
export LSAN_OPTIONS
"${top_builddir:-.}/tests/fuzz/fuzz_config" -max_total_time="$secs" -rss_limit_mb=1024 \
        -print_final_stats=1 "$work" "${top_srcdir:-.}/tests/fuzz/corpus/config"
