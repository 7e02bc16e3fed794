#!/bin/sh
# tests/fuzz/dispatch-fuzz.sh: libFuzzer on the node's request dispatch (RaftService, KV
# and Admin requests)
# for FUZZ_SECONDS (default 20) seconds. New inputs go to a scratch dir; the seed corpus
# in the source tree is only read.
set -u
secs="${FUZZ_SECONDS:-20}"
work=$(mktemp -d) || exit 99
trap 'rm -rf "$work"' EXIT
"${top_builddir:-.}/tests/fuzz/fuzz_dispatch" -max_total_time="$secs" -rss_limit_mb=1024 \
        -print_final_stats=1 "$work" "${top_srcdir:-.}/tests/fuzz/corpus/dispatch"
