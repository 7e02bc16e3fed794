#!/bin/sh
# tests/unit/storage/rafktord-data-tools.sh: the rafktord command line of the
# data tools: without a data tool option rafktord runs the daemon (here with a
# missing config file: it names the file and exits 1); --verify-data on a
# fresh directory exits 0.
set -u
bin="${top_builddir:-.}/daemon/rafktord"
dir=$(mktemp -d) || exit 99
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

out=$("$bin" -c "$dir/missing.conf" 2>&1); rc=$?
[ "$rc" -eq 1 ] || fail "missing config: exit $rc, expected 1"
echo "$out" | grep -q "$dir/missing.conf" || fail "missing config: message was: $out"

"$bin" --verify-data "$dir" >/dev/null 2>&1; rc=$?
[ "$rc" -eq 0 ] || fail "--verify-data of an empty dir: exit $rc, expected 0"
[ -z "$(ls -A "$dir")" ] || fail "--verify-data created files in $dir"

"$bin" --verify-data "$dir/missing" >/dev/null 2>&1; rc=$?
[ "$rc" -eq 2 ] || fail "--verify-data of a missing dir: exit $rc, expected 2"

"$bin" --dump-data "$dir" --xml >/dev/null 2>&1; rc=$?
[ "$rc" -eq 2 ] || fail "--dump-data with a bad option: exit $rc, expected 2"
echo "PASS"
