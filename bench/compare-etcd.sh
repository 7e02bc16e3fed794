#!/bin/bash
# bench/compare-etcd.sh: etcd 3.4 and rafktor side by side on this machine, same load.
#
# Owns: the throughput comparison of issue 9 (method: shared/facts/etcd-anchor.md). For
# each of RUNS runs and each system (the order alternates between runs): a fresh
# three-member cluster on 127.0.0.1 (fresh data dirs), then h2load with one HTTP/2
# connection and CONC streams sends the same gRPC Put frame (key "k", 100-byte value,
# bench/make-frame) to the leader, for every CONC in the list; then linearizable reads of
# "k" at READ_CONC in flight. Every level: wait for a quiet machine, WARM warm-up requests,
# then N requests (N256 at 256 and above), verified: the write counter (etcd: revision,
# rafktor: the applied index) rose by exactly N for puts and not at all for reads, and
# h2load received a reply message for every request. CPU: the members' from /proc/PID/stat,
# h2load's from its rusage, kernel threads' (ksoftirqd, kworker: mostly the members' own
# loopback softirqs and writeback) apart, everyone else's from /proc/stat minus all three; a
# level during which others used more than OTHER_MAX % of one core is measured again (up
# to RETRIES times), then refused, or kept and marked NOISY with --noisy.
# Prints one table of medians (with min-max) and the ratios rafktor/etcd; the raw lines go
# to RESULTS (-o).
# Must never target anything but loopback, or report a level that failed verification
# as a number.
#
# usage: bench/compare-etcd.sh [-r RUNS] [-n N] [-N N256] [-w WARM] [-c CONC,CONC...]
#            [-g READ_CONC] [-q QUIET_PCT] [-Q QUIET_TIMEOUT_S] [-x OTHER_MAX] [-R RETRIES]
#            [-s SYSTEMS] [-o RESULTS] [--noisy] [--no-reads]
# Defaults: -r 3 -n 20000 -N 100000 -w 500 -c 1,16,64,256 -g 64 -q 25 -Q 600 -x 5 -R 3
#           -s etcd,rafktor. A level whose quiet wait timed out counts as noisy.
# Environment: BUILD (rafktor build dir, default build-default/, built when missing),
#           KEEP=1 keeps the scratch dir.
set -u
. "$(dirname "$0")/lib.sh"

RUNS=3 N=20000 N256=100000 WARM=500 CONCS=1,16,64,256 READ_CONC=64 QUIET=25 OTHER_MAX=5
RETRIES=3 SYSTEMS=etcd,rafktor RESULTS= NOISY_OK=0 READS=1 QUIET_TIMEOUT=600
while [ $# -gt 0 ]; do
        case "$1" in
        -r) RUNS=$2; shift 2 ;;
        -n) N=$2; shift 2 ;;
        -N) N256=$2; shift 2 ;;
        -w) WARM=$2; shift 2 ;;
        -c) CONCS=$2; shift 2 ;;
        -g) READ_CONC=$2; shift 2 ;;
        -q) QUIET=$2; shift 2 ;;
        -Q) QUIET_TIMEOUT=$2; shift 2 ;;
        -x) OTHER_MAX=$2; shift 2 ;;
        -R) RETRIES=$2; shift 2 ;;
        -s) SYSTEMS=$2; shift 2 ;;
        -o) RESULTS=$2; shift 2 ;;
        --noisy) NOISY_OK=1; shift ;;
        --no-reads) READS=0; shift ;;
        -h|--help) sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown option $1 (see --help)" ;;
        esac
done

bench_need_packages
bench_need_build
bench_tmp
[ -n "$RESULTS" ] || RESULTS=$T/results.txt
: > "$RESULTS"
[ "$RUNS" -ge 3 ] || say "note: fewer than 3 runs: the medians are not the issue's method"

# h2load_run EP PATH FRAME CONC N LOG OUT: one h2load run, one connection, one thread;
# prints h2load's CPU (user+sys) in ms.
h2load_run() {
        local t
        # the subshell's `times`: its second line is the children's (h2load's) user and sys
        t=$( (h2load -n "$5" -c 1 -m "$4" -t 1 \
                -H 'content-type: application/grpc' -H 'te: trailers' -d "$3" \
                --log-file="$6" "http://$1$2" > "$7" 2>&1; times) | tail -n 1)
        awk -v t="$t" 'BEGIN { n = split(t, a, /[ms ]+/)
                printf "%.0f", (a[1] * 60 + a[2] + a[3] * 60 + a[4]) * 1000 }'
}

# measure SYSTEM RUN KIND CONC N: one level; appends one line to RESULTS.
measure() {
        local sys=$1 run=$2 kind=$3 conc=$4 n=$5
        local ep path frame try c0 c1 s0 s1 b0 b1 t0 t1 gen out log quiet_wait
        local rps p50 p99 applied ok data srv_ms other_pct srv_pct gen_pct cpu_op noisy failed
        local why deadline lead_after moved k0 k1 kth_pct
        ep=$(member_ep "$LEADER")
        path=$("$BENCH_TOP/bench/make-frame" --path "$sys" "$kind")
        frame=$T/$sys-$kind.bin
        [ -f "$frame" ] || {
                if [ "$kind" = put ]; then
                        "$BENCH_TOP/bench/make-frame" -o "$frame" "$sys" put k --value-size 100
                else
                        "$BENCH_TOP/bench/make-frame" -o "$frame" "$sys" get k
                fi
        }
        out=$T/h2load.out
        log=$T/h2load.log
        for try in $(seq 1 "$RETRIES"); do
                quiet_wait=ok
                wait_quiet "$QUIET" "$QUIET_TIMEOUT" || quiet_wait=timeout
                h2load_run "$ep" "$path" "$frame" "$conc" "$WARM" /dev/null "$out" > /dev/null
                c0=$(cluster_counter)
                # shellcheck disable=SC2046 # a list of pids
                s0=$(pid_cpu $(member_pids))
                k0=$(kthread_cpu)
                b0=$(cpu_busy)
                rm -f "$log"
                t0=$(now_ms)
                gen=$(h2load_run "$ep" "$path" "$frame" "$conc" "$n" "$log" "$out")
                t1=$(now_ms)
                b1=$(cpu_busy)
                k1=$(kthread_cpu)
                # shellcheck disable=SC2046
                s1=$(pid_cpu $(member_pids))
                c1=$(cluster_counter)
                # A put is answered once applied by the member that answered; give another
                # member that leads now up to 3 s to show the same count.
                deadline=$(( $(now_ms) + 3000 ))
                while [ "$kind" = put ] && [ $(( c1 - c0 )) -lt "$n" ] &&
                      [ "$(now_ms)" -lt "$deadline" ]; do
                        sleep 0.05
                        c1=$(cluster_counter)
                done
                lead_after=$(leader_member) || lead_after=none
                rps=$(sed -n 's/^finished in .*, \([0-9.]*\) req\/s.*/\1/p' "$out")
                ok=$(sed -n 's/^requests: .* \([0-9]*\) succeeded.*/\1/p' "$out")
                data=$(sed -n 's/^traffic: .*(\([0-9]*\)) data.*/\1/p' "$out")
                read -r p50 p99 < <(awk -F'\t' '$2 == 200 { print $3 }' "$log" | sort -n |
                        awk '{ a[NR] = $1 } END { if (NR == 0) { print "- -"; exit }
                                i = int(NR * 0.50 + 0.5); if (i < 1) i = 1
                                j = int(NR * 0.99 + 0.5); if (j < 1) j = 1
                                printf "%.2f %.2f\n", a[i] / 1000, a[j] / 1000 }')
                applied=$(( c1 - c0 ))
                srv_ms=$(( (s1 - s0) * 1000 / CLK_TCK ))
                read -r srv_pct gen_pct other_pct cpu_op kth_pct < <(awk -v s="$srv_ms" \
                        -v g="$gen" -v k=$(( (k1 - k0) * 1000 / CLK_TCK )) \
                        -v b=$(( (b1 - b0) * 1000 / CLK_TCK )) -v w=$(( t1 - t0 )) -v n="$n" \
                        'BEGIN { o = b - s - g - k; if (o < 0) o = 0
                                 printf "%.0f %.0f %.1f %.0f %.1f\n", s * 100 / w,
                                        g * 100 / w, o * 100 / w, s * 1000 / n, k * 100 / w }')
                failed=0 why=
                [ "$ok" = "$n" ] || { failed=1; why="FAILED: h2load: $ok of $n succeeded"; }
                if [ "$kind" = put ]; then
                        [ "$applied" = "$n" ] ||
                                { failed=1; why="$why FAILED: applied $applied of $n"; }
                        [ "${data:-0}" -ge $(( n * 6 )) ] ||
                                { failed=1; why="$why FAILED: reply data $data B for $n puts"; }
                else
                        [ "$applied" = 0 ] ||
                                { failed=1; why="$why FAILED: reads wrote $applied"; }
                        [ "${data:-0}" -ge $(( n * 105 )) ] ||
                                { failed=1; why="$why FAILED: reply data $data B for $n reads"; }
                fi
                moved=0
                if [ "$lead_after" != "$LEADER" ]; then
                        moved=1
                        why="$why leader moved from member $LEADER to $lead_after during the run"
                        wait_leader 10000 || die "$sys: no leader after the run"
                fi
                noisy=0
                awk -v o="$other_pct" -v m="$OTHER_MAX" 'BEGIN { exit !(o > m) }' && noisy=1
                [ "$quiet_wait" = timeout ] && noisy=1
                say "$sys run $run $kind conc $conc: ${rps} req/s p50 $p50 p99 $p99 ms," \
                    "server ${srv_pct}% h2load ${gen_pct}% kernel threads ${kth_pct}%" \
                    "other ${other_pct}%" \
                    "cpu/op ${cpu_op}us applied $applied${why:+ (${why# })}" \
                    "$([ "$noisy" = 1 ] && echo "(noisy, try $try of $RETRIES)")"
                [ "$failed" = 1 ] && break
                [ "$noisy" = 0 ] && break
        done
        echo "system=$sys run=$run kind=$kind conc=$conc n=$n rps=$rps p50_ms=$p50" \
             "p99_ms=$p99 cpu_us_per_op=$cpu_op srv_cpu_pct=$srv_pct gen_cpu_pct=$gen_pct" \
             "other_cpu_pct=$other_pct applied=$applied noisy=$noisy failed=$failed" \
             "leader_moved=$moved kthread_cpu_pct=$kth_pct" \
             >> "$RESULTS"
}

# one_run SYSTEM RUN: a fresh cluster, every level, stop.
one_run() {
        local sys=$1 run=$2 conc n frame
        if [ "$sys" = etcd ]; then
                etcd_init "$T/etcd"
                etcd_start_all
        else
                rafktor_init "$T/rafktor"
                rafktor_start_all
        fi
        say "$sys run $run: leader is member $LEADER ($(member_ep "$LEADER"))," \
            "pids $(member_pids)"
        frame=$T/$sys-put.bin
        "$BENCH_TOP/bench/make-frame" -o "$frame" "$sys" put k --value-size 100
        grpc_ok "$(member_ep "$LEADER")" "$(put_path)" "$frame" ||
                die "$sys: a Put through nghttp did not answer grpc-status 0"
        for conc in ${CONCS//,/ }; do
                n=$N
                [ "$conc" -ge 256 ] && n=$N256
                measure "$sys" "$run" put "$conc" "$n"
        done
        if [ "$READS" = 1 ]; then
                "$BENCH_TOP/bench/make-frame" -o "$T/$sys-get.bin" "$sys" get k
                grpc_ok "$(member_ep "$LEADER")" "$(get_path)" "$T/$sys-get.bin" ||
                        die "$sys: a linearizable read through nghttp failed"
                measure "$sys" "$run" get "$READ_CONC" "$N"
        fi
        stop_members
}

systems=(${SYSTEMS//,/ })
for run in $(seq 1 "$RUNS"); do
        if [ $(( run % 2 )) = 0 ]; then
                for (( k = ${#systems[@]} - 1; k >= 0; k-- )); do
                        one_run "${systems[$k]}" "$run"
                done
        else
                for s in "${systems[@]}"; do one_run "$s" "$run"; done
        fi
done

"$BENCH_TOP/bench/summarize.sh" "$RESULTS" "$NOISY_OK"
