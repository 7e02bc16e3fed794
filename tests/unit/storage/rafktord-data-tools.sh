#!/bin/sh
# tests/unit/storage/rafktord-data-tools.sh: the rafktord command line for
# now: without a data tool option it says the daemon is not built yet and
# exits 2; --verify-data on a fresh directory exits 0.
set -u
bin="${top_builddir:-.}/daemon/rafktord"
dir=$(mktemp -d) || exit 99
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

out=$("$bin" 2>&1); rc=$?
[ "$rc" -eq 2 ] || fail "no arguments: exit $rc, expected 2"
echo "$out" | grep -q "the daemon is not built yet; only --verify-data and --dump-data exist" \
        || fail "no arguments: message was: $out"

"$bin" --verify-data "$dir" >/dev/null 2>&1; rc=$?
[ "$rc" -eq 0 ] || fail "--verify-data of an empty dir: exit $rc, expected 0"
[ -z "$(ls -A "$dir")" ] || fail "--verify-data created files in $dir"

"$bin" --verify-data "$dir/missing" >/dev/null 2>&1; rc=$?
[ "$rc" -eq 2 ] || fail "--verify-data of a missing dir: exit $rc, expected 2"

"$bin" --dump-data "$dir" --xml >/dev/null 2>&1; rc=$?
[ "$rc" -eq 2 ] || fail "--dump-data with a bad option: exit $rc, expected 2"
echo "PASS"
