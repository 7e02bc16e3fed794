#!/bin/sh
# daemon/raft/check-purity.sh: the Raft core must stay pure (raft.h: no I/O,
# no clock, no threads, no protobuf/gRPC). Fails if any core source
# includes a header outside the allowed list or uses FILE*.
# Usage: check-purity.sh [SRCDIR]   (default: $top_srcdir or .)
dir="${1:-${top_srcdir:-.}}/daemon/raft"
allowed='^(stdint|stdbool|stddef|string|stdlib|stdio|errno)\.h$|^daemon/raft/raft(_private)?\.h$'
status=0
for f in "$dir"/*.c "$dir"/*.h; do
        for inc in $(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]\([^>"]*\)[>"].*/\1/p' "$f"); do
                if ! echo "$inc" | grep -Eq "$allowed"; then
                        echo "$f: forbidden include <$inc>" >&2
                        status=1
                fi
        done
        if grep -nE '\bFILE[[:space:]]*\*|\b(fopen|fprintf|printf|puts|time|clock_gettime|gettimeofday|rand|srand|pthread_[a-z_]+)\(' "$f" >&2; then
                echo "$f: I/O, clock, global PRNG or thread call in the pure core" >&2
                status=1
        fi
done
exit $status
