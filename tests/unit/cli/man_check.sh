#!/bin/sh
# tests/unit/cli/man_check.sh: raftctl(1) is mandoc-lint clean and documents every command
# raftctl lists, every exit code of cli/exit_codes.h, and every global option.
# Owns: the man page checks only; skipped (77) when mandoc is not installed.
set -u
man="${top_srcdir:-.}/man/raftctl.1"
raftctl="${top_builddir:-.}/cli/raftctl"
codes="${top_srcdir:-.}/cli/exit_codes.h"
fail=0

if ! command -v mandoc >/dev/null 2>&1; then
        echo "SKIP: mandoc not installed (Debian: apt-get install mandoc)"
        exit 77
fi
if ! out=$(mandoc -Tlint -Wwarning "$man" 2>&1) || [ -n "$out" ]; then
        echo "FAIL: mandoc -Tlint -Wwarning $man:"; echo "$out"; fail=1
fi
# Commands: the first words after "Commands:" in raftctl --help, plus the shell's own.
cmds=$("$raftctl" --help | sed -n '/^Commands:/,/^$/p' | sed -n 's/^  \([a-z-]\{1,\}\).*/\1/p')
[ -n "$cmds" ] || { echo "FAIL: no commands in raftctl --help"; fail=1; }
for c in $(echo "$cmds" | sort -u) exit quit; do
        grep -q "^\.It .*Cm $c\b" "$man" || { echo "FAIL: command '$c' not documented"; fail=1; }
done
for sub in add remove promote; do
        grep -q "^\.It Cm member $sub\b" "$man" ||
                { echo "FAIL: 'member $sub' not documented"; fail=1; }
done
# Exit codes: every "= N," in the enum has an ".It N" entry.
for n in $(sed -n 's/.*RAFTCTL_EXIT_[A-Z_]* = \([0-9]*\),.*/\1/p' "$codes"); do
        grep -q "^\.It $n\$" "$man" || { echo "FAIL: exit code $n not documented"; fail=1; }
done
for o in "Fl e" "Fl w" "Fl -json" "Fl -timeout" "Fl h" "Fl -version" "Ev RAFTCTL_ENDPOINTS" \
         "Ev XDG_STATE_HOME" "Fl -stale" "Fl -limit" "Fl -version Ar n" "Fl -learner" "Fl -all"; do
        grep -q "$o" "$man" || { echo "FAIL: '$o' not documented"; fail=1; }
done
[ "$fail" = 0 ] && echo "PASS: raftctl(1) is lint-clean and complete"
exit "$fail"
