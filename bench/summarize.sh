#!/bin/sh
# bench/summarize.sh: the table of compare-etcd.sh from its raw result lines.
#
#   bench/summarize.sh RESULTS [NOISY_OK]
#
# RESULTS holds one "key=value ..." line per measured level (system run kind conc n rps
# p50_ms p99_ms cpu_us_per_op srv_cpu_pct gen_cpu_pct other_cpu_pct applied noisy failed
# leader_moved).
# Prints markdown: per system, kind and concurrency the median over runs of every column
# (puts/s also with [min-max]), then the ratios rafktor/etcd of the medians. A level that
# failed verification never counts; a noisy one counts only with NOISY_OK=1, and then the
# row says NOISY. Owns: nothing but this formatting. Must never invent a number: a row
# without a valid run prints "refused" or "FAILED".
set -eu
[ $# -ge 1 ] || { echo "usage: summarize.sh RESULTS [NOISY_OK]" >&2; exit 2; }
awk -v noisy_ok="${2:-0}" '
function med(list,    n, a, i, j, t) {
        n = split(list, a, " ")
        if (n == 0) return "-"
        for (i = 2; i <= n; i++) {
                t = a[i] + 0
                for (j = i - 1; j >= 1 && a[j] + 0 > t; j--) a[j + 1] = a[j]
                a[j + 1] = t
        }
        if (n % 2) return a[(n + 1) / 2]
        return (a[n / 2] + a[n / 2 + 1]) / 2
}
function minmax(list,    n, a, i, lo, hi) {
        n = split(list, a, " ")
        lo = hi = a[1] + 0
        for (i = 2; i <= n; i++) {
                if (a[i] + 0 < lo) lo = a[i] + 0
                if (a[i] + 0 > hi) hi = a[i] + 0
        }
        return sprintf("%.0f-%.0f", lo, hi)
}
function maxof(list,    n, a, i, hi) {
        n = split(list, a, " ")
        hi = a[1] + 0
        for (i = 2; i <= n; i++) if (a[i] + 0 > hi) hi = a[i] + 0
        return hi
}
{
        delete f
        for (i = 1; i <= NF; i++) {
                split($i, kv, "=")
                f[kv[1]] = kv[2]
        }
        k = f["system"] SUBSEP f["kind"] SUBSEP f["conc"]
        if (!(k in seen)) {
                seen[k] = 1
                order[++nk] = k
        }
        total[k]++
        if (f["leader_moved"] == 1) moved[k]++
        if (f["failed"] == 1) { failed[k]++; next }
        if (f["noisy"] == 1) {
                noisy[k]++
                if (noisy_ok != 1) next
        }
        used[k]++
        rps[k] = rps[k] " " f["rps"]
        p50[k] = p50[k] " " f["p50_ms"]
        p99[k] = p99[k] " " f["p99_ms"]
        cpu[k] = cpu[k] " " f["cpu_us_per_op"]
        srv[k] = srv[k] " " f["srv_cpu_pct"]
        gen[k] = gen[k] " " f["gen_cpu_pct"]
        oth[k] = oth[k] " " f["other_cpu_pct"]
        kth[k] = kth[k] " " (f["kthread_cpu_pct"] == "" ? 0 : f["kthread_cpu_pct"])
}
END {
        print "| system | load | in flight | ops/s median [min-max] | p50 ms | p99 ms |" \
              " server CPU us/op | server CPU % of 1 core | h2load % | kernel threads % |" \
              " others % (max) | runs used/measured | note |"
        print "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
        for (i = 1; i <= nk; i++) {
                k = order[i]
                split(k, p, SUBSEP)
                note = ""
                if (noisy[k] > 0 && noisy_ok == 1) note = "NOISY"
                if (used[k] == 0) {
                        note = failed[k] > 0 ? "FAILED verification" : "refused (noisy)"
                        printf "| %s | %s | %s | - | - | - | - | - | - | - | - | 0/%d | %s |\n",
                               p[1], p[2], p[3], total[k], note
                        continue
                }
                if (failed[k] > 0) note = note (note ? ", " : "") failed[k] " FAILED"
                if (moved[k] > 0)
                        note = note (note ? ", " : "") "leader moved in " moved[k] " run(s)"
                if (noisy[k] > 0 && noisy_ok != 1)
                        note = note (note ? ", " : "") noisy[k] " refused (noisy)"
                m[k] = med(rps[k])
                m99[k] = med(p99[k])
                m50[k] = med(p50[k])
                mc[k] = med(cpu[k])
                printf "| %s | %s | %s | %.0f [%s] | %.2f | %.2f | %.0f | %.0f | %.0f |" \
                       " %.0f | %.1f | %d/%d | %s |\n", p[1], p[2], p[3], m[k],
                       minmax(rps[k]), m50[k], m99[k], mc[k], med(srv[k]), med(gen[k]),
                       med(kth[k]), maxof(oth[k]), used[k], total[k], note
        }
        print ""
        print "| load | in flight | ops/s rafktor/etcd | p50 rafktor/etcd |" \
              " p99 rafktor/etcd | CPU per op rafktor/etcd | note |"
        print "|---|---|---|---|---|---|---|"
        for (i = 1; i <= nk; i++) {
                k = order[i]
                split(k, p, SUBSEP)
                if (p[1] != "rafktor") continue
                e = "etcd" SUBSEP p[2] SUBSEP p[3]
                if (!(k in m) || !(e in m) || m[e] == 0 || m99[e] == 0 || m50[e] == 0 ||
                    mc[e] == 0)
                        continue
                note = (noisy[k] > 0 || noisy[e] > 0) && noisy_ok == 1 ? "NOISY" : ""
                printf "| %s | %s | %.2f | %.2f | %.2f | %.2f | %s |\n", p[2], p[3],
                       m[k] / m[e], m50[k] / m50[e], m99[k] / m99[e], mc[k] / mc[e], note
        }
}' "$1"
