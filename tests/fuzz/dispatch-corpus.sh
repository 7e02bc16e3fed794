#!/bin/sh
# tests/fuzz/dispatch-corpus.sh: the seed corpus through the node's request dispatch
# (RaftService, KV and Admin requests)
# with the regular build (no libFuzzer): every seed must pass without a crash.
exec "${top_builddir:-.}/tests/fuzz/dispatch_corpus" "${top_srcdir:-.}/tests/fuzz/corpus/dispatch"
