#!/bin/bash
# daemon/run-local-cluster.sh: the README's "run the cluster" command.
# Builds everything; starts three rafktord nodes on 127.0.0.1 once the daemon
# exists (issue 4). Until then it says so and exits non-zero: it never
# pretends to run a cluster.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/tests/install-deps.sh"
cd "$top"
[ -x configure ] || autoreconf -fi >/dev/null
mkdir -p build-default
(cd build-default && { [ -f Makefile ] || "$top/configure" -q; } && make -s -j"${JOBS:-2}")
if ! build-default/daemon/rafktord --help 2>/dev/null | grep -q -- '--config'; then
        echo "run-local-cluster: rafktord cannot serve a cluster yet (issue 4);" >&2
        echo "run-local-cluster: the build is in build-default/; try build-default/tests/sim/raftsim --seeds 1 -v" >&2
        exit 2
fi
