# tests/system/lint.sh: the checks of the built packages that need no container, sourced
# by run.sh: lintian, rpmlint, the rpm unpacked into a scratch root with its file list
# compared, systemd-analyze verify and security on the packaged units, mandoc lint.
#
# Owns: the scratch directories under $work/lint. Must never install anything on the host
# (the rpm goes into a scratch root only, without scriptlets).

# The rpm's files, as `rpm -ql` lists them (build-id links left out).
rpm_expected_files="/etc/rafktor
/etc/rafktor/rafktor.conf
/usr/bin/raftctl
/usr/lib/systemd/system/rafktor.service
/usr/lib/systemd/system/rafktor.socket
/usr/lib/sysusers.d/rafktor.conf
/usr/lib/tmpfiles.d/rafktor.conf
/usr/sbin/rafktord
/usr/share/doc/rafktor-@VERSION@
/usr/share/doc/rafktor-@VERSION@/README.md
/usr/share/man/man1/raftctl.1.gz
/usr/share/man/man5/rafktor.conf.5.gz
/usr/share/man/man8/rafktord.8.gz
/var/lib/rafktor"

lint_lintian() {
        local out
        out=$(lintian -I --pedantic "$deb_changes" 2>&1 | grep -v 'running with root privileges')
        [ -n "$out" ] && printf '%s\n' "$out" | sed 's/^/    lintian: /'
        if printf '%s\n' "$out" | grep -q '^[EW]:'; then
                fail "lintian: no errors or warnings" "$(printf '%s\n' "$out" | grep '^[EW]:')"
        else
                pass "lintian: no errors or warnings"
        fi
}

lint_rpmlint() {
        local out rc=0
        out=$(rpmlint -r "$top/packaging/rpm/rafktor.rpmlintrc" "$rpm_file" 2>&1) || rc=$?
        if [ $rc -eq 0 ] && ! printf '%s\n' "$out" | grep -q ': E: '; then
                pass "rpmlint: no errors ($(printf '%s\n' "$out" | grep -c ': W: ') warnings)"
        else
                fail "rpmlint: no errors (exit $rc)" "$(printf '%s\n' "$out" | grep ': [EW]: ')"
        fi
}

lint_rpm_root() {
        local root=$work/lint/rpmroot got want
        rm -rf "$root" && mkdir -p "$root"
        if ! got=$(rpm --root "$root" -i --nodeps --noscripts "$rpm_file" 2>&1); then
                fail "rpm installs into a scratch root" "$got"
                return
        fi
        pass "rpm installs into a scratch root"
        got=$(rpm --root "$root" -ql rafktor | grep -v '^/usr/lib/.build-id')
        want=${rpm_expected_files//@VERSION@/$version}
        if [ "$got" = "$want" ]; then
                pass "rpm file list is the expected one"
        else
                fail "rpm file list is the expected one" "$(diff <(echo "$want") <(echo "$got"))"
        fi
        check "rpm -V: the scratch root matches the package" \
                rpm --root "$root" -V --nodeps rafktor
        check "rpm: /var/lib/rafktor belongs to rafktor, mode 0750" \
                test "$(rpm -qp --qf '[%{FILEMODES:perms} %{FILEUSERNAME} %{FILENAMES}\n]' \
                        "$rpm_file" | grep ' /var/lib/rafktor$')" = \
                        "drwxr-x--- rafktor /var/lib/rafktor"
}

# Every rpm scriptlet parses (sh -n): the fallback macros expand into them.
lint_rpm_scripts() {
        local tag script out
        for tag in PREIN POSTIN PREUN POSTUN; do
                script=$(rpm -qp --qf "%{$tag}" "$rpm_file")
                [ "$script" = "(none)" ] && continue
                if out=$(printf '%s\n' "$script" | sh -n 2>&1); then
                        pass "rpm %$tag scriptlet parses"
                else
                        fail "rpm %$tag scriptlet parses" "$out"
                fi
        done
}

# The units as the .deb ships them, with ExecStart pointing at the packaged binary
# (verify refuses a missing one).
lint_units() {
        local dir=$work/lint/deb out score
        rm -rf "$dir" && mkdir -p "$dir/units"
        dpkg-deb -x "$deb_file" "$dir/root"
        cp "$dir/root/lib/systemd/system/rafktor.socket" "$dir/units/"
        sed "s|^ExecStart=/usr/sbin/rafktord|ExecStart=$dir/root/usr/sbin/rafktord|" \
                "$dir/root/lib/systemd/system/rafktor.service" > "$dir/units/rafktor.service"
        out=$(cd "$dir/units" && systemd-analyze verify --man=no rafktor.socket \
                rafktor.service 2>&1)
        if [ -z "$out" ]; then pass "systemd-analyze verify: silent"
        else fail "systemd-analyze verify: silent" "$out"; fi
        out=$(cd "$dir/units" && systemd-analyze security --offline=true rafktor.service 2>&1)
        score=$(printf '%s\n' "$out" |
                sed -n 's/.*Overall exposure level for rafktor.service: \([0-9.]*\).*/\1/p')
        if [ -n "$score" ] && awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }'; then
                pass "systemd-analyze security: exposure $score <= 2.0"
        else
                fail "systemd-analyze security: exposure ${score:-?} <= 2.0" \
                        "$(printf '%s\n' "$out" | grep '✗')"
        fi
}

deb_has_man_pages() {
        [ "$(dpkg-deb -c "$deb_file" | grep -c -E \
                'man/man(1/raftctl\.1|5/rafktor\.conf\.5|8/rafktord\.8)\.gz$')" = 3 ]
}

lint_man() {
        check "mandoc -Tlint -Wwarning: man pages clean" \
                mandoc -Tlint -Wwarning "$top"/man/*.[1-8]
        check "the .deb ships the three man pages" deb_has_man_pages
}

stage_lint() {
        echo "=== lint: packages, units, man pages"
        lint_lintian
        lint_rpmlint
        lint_rpm_root
        lint_rpm_scripts
        lint_units
        lint_man
}
