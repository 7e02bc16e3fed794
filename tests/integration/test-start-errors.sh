#!/bin/bash
# tests/integration/test-start-errors.sh: rafktord refuses what it cannot serve, with a
# clear error and exit 1, while a running node keeps serving: a bad config (FILE:LINE:
# reason, for --check-config and for a start), a second daemon on the same data
# directory, the same listen address or the same admin socket; a stale admin socket file
# (nobody answers) is removed and a path that is not a socket is never replaced. Errors
# before the logger exists carry "<3>" when stderr is the journal stream.
. "$top_srcdir/tests/integration/lib.sh"

cluster_init 3

# --version, --help, usage errors.
"$RAFKTORD" --version | grep -q '^rafktord [0-9]' || fail "--version"
"$RAFKTORD" --help | grep -q -- '--check-config' || fail "--help does not list --check-config"
"$RAFKTORD" --no-such-option >/dev/null 2>&1
[ $? -eq 2 ] || fail "an unknown option does not exit 2"

# Config checks.
out=$("$RAFKTORD" -c "$T/n1.conf" --check-config) || fail "--check-config of a good file: $out"
[ "$out" = "$T/n1.conf: ok" ] || fail "--check-config printed '$out'"
{ sed '/^id = /d' "$T/n1.conf"; echo 'id = 5;'; } > "$T/bad-type.conf"
sed 's/^listen = /listn = /' "$T/n1.conf" > "$T/bad-key.conf"
for bad in bad-type bad-key; do
        "$RAFKTORD" -c "$T/$bad.conf" --check-config > "$T/$bad.out" 2> "$T/$bad.err"
        rc=$?
        [ "$rc" -eq 1 ] || fail "--check-config of $bad.conf exited $rc, expected 1"
        grep -q -E "^$T/$bad.conf:[0-9]+: " "$T/$bad.err" ||
                fail "--check-config of $bad.conf: no FILE:LINE: reason: $(cat "$T/$bad.err")"
        [ ! -s "$T/$bad.out" ] || fail "--check-config of $bad.conf printed on stdout"
        "$RAFKTORD" -c "$T/$bad.conf" > "$T/$bad.run" 2>&1
        rc=$?
        [ "$rc" -eq 1 ] || fail "starting with $bad.conf exited $rc, expected 1"
        grep -q -E "^$T/$bad.conf:[0-9]+: " "$T/$bad.run" ||
                fail "starting with $bad.conf: $(cat "$T/$bad.run")"
        log "$bad.conf: $(cat "$T/$bad.err")"
done
[ ! -e "$T/n1" ] || fail "a refused start created the data directory"

# With stderr connected to the journal ($JOURNAL_STREAM names its device and inode), an
# error printed before the logger exists carries "<3>", so journald files it at priority
# err; a usage error too. Not on a plain stderr (checked above: lines start with FILE).
: > "$T/journal.err"
stream=$(stat -c '%d:%i' "$T/journal.err")
JOURNAL_STREAM=$stream "$RAFKTORD" -c "$T/bad-key.conf" 2> "$T/journal.err"
grep -q -E "^<3>$T/bad-key.conf:[0-9]+: " "$T/journal.err" ||
        fail "a config error on the journal stream has no <3> prefix: $(cat "$T/journal.err")"
JOURNAL_STREAM=$stream "$RAFKTORD" -c "$T/n1.conf" extra 2> "$T/journal.err"
grep -q "^<3>rafktord: unexpected argument 'extra'" "$T/journal.err" ||
        fail "a usage error on the journal stream has no <3> prefix: $(cat "$T/journal.err")"

start_node 1

# second CONF-NAME SED-EXPR EXPECTED-MESSAGE: a second rafktord with n1's config edited
# by SED-EXPR must exit 1 saying EXPECTED-MESSAGE.
second() {
        local name=$1 expr=$2 want=$3 rc=0
        sed "$expr" "$T/n1.conf" > "$T/$name.conf"
        "$RAFKTORD" -c "$T/$name.conf" > "$T/$name.log" 2>&1 || rc=$?
        [ "$rc" -eq 1 ] || fail "a second daemon ($name) exited $rc, expected 1"
        grep -q -- "$want" "$T/$name.log" ||
                fail "a second daemon ($name) did not say '$want': $(cat "$T/$name.log")"
        log "$name: $(grep -- "$want" "$T/$name.log" | head -n 1)"
}
other_port=$(free_port)
second same-data "s|^listen = .*|listen = \"127.0.0.1:$other_port\";|; s|n1.sock|n1b.sock|" \
        "is in use by another process"
second same-listen "s|^data_dir = .*|data_dir = \"$T/n1b\";|; s|n1.sock|n1b.sock|" \
        "address already in use"
new_dir="s|^data_dir = .*|data_dir = \"$T/n1c\";|"
new_listen="s|^listen = .*|listen = \"127.0.0.1:$other_port\";|"
second same-admin "$new_dir; $new_listen" \
        "another process answers on it"
# The first one still serves on both endpoints.
node_answers 1 || fail "n1 stopped answering on TCP"
rkc -e "$(admin_ep 1)" status >/dev/null || fail "n1 stopped answering on its admin socket"

# kill -9 leaves the socket file behind: the next start removes it.
kill_node 1
[ -S "$T/n1.sock" ] || fail "expected a stale socket file after kill -9"
start_node 1
grep -q "removed the stale admin socket $T/n1.sock" "$T/n1.log" ||
        fail "the stale admin socket was not reported as removed"
rkc -e "$(admin_ep 1)" status >/dev/null || fail "n1 does not answer on its admin socket"
stop_node 1

# A path that is not a socket is never replaced.
echo precious > "$T/n1.sock"
"$RAFKTORD" -c "$T/n1.conf" > "$T/not-a-socket.log" 2>&1
rc=$?
[ "$rc" -eq 1 ] || fail "starting with a regular file at the admin socket path exited $rc"
grep -q "exists and is not a socket" "$T/not-a-socket.log" ||
        fail "no clear error for a regular file at the admin socket path:" \
             "$(cat "$T/not-a-socket.log")"
[ "$(cat "$T/n1.sock")" = precious ] || fail "the regular file was replaced"
echo "PASS: $TEST_NAME"
