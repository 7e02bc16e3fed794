#!/bin/bash
# tests/unit/config/man-and-helper.sh: rafktor.conf(5) is clean under
# mandoc -Tlint -Wwarning, and rafktor-local-config prints a config per node
# and refuses bad arguments. Skips (77) the man check only when mandoc is
# not installed (Debian: apt-get install mandoc).
set -u
top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}
helper=$top_builddir/daemon/config/rafktor-local-config
fail=0

for n in 1 2 3; do
        out=$("$helper" "$n" /tmp/rafktor-local) || { echo "helper failed for node $n"; fail=1; }
        grep -qx "id = \"n$n\";" <<<"$out" || { echo "node $n: no id line"; fail=1; }
        grep -qx "listen = \"127.0.0.1:740$n\";" <<<"$out" || { echo "node $n: bad listen"; fail=1; }
done
for args in "0 /tmp/x" "4 /tmp/x" "1 relative/dir" "1"; do
        # shellcheck disable=SC2086
        if "$helper" $args >/dev/null 2>&1; then
                echo "helper accepted bad arguments: $args"
                fail=1
        fi
done

if ! command -v mandoc >/dev/null; then
        echo "SKIP man check: mandoc not installed (apt-get install mandoc)"
        [ $fail = 0 ] && exit 77
        exit 1
fi
if ! mandoc -Tlint -Wwarning "$top_srcdir/man/rafktor.conf.5"; then
        echo "man/rafktor.conf.5 is not clean under mandoc -Tlint -Wwarning"
        fail=1
fi
exit $fail
