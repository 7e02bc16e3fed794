#!/bin/sh
# tests/fuzz/config-corpus.sh: the seed corpus through the configuration parser
# with the regular build (no libFuzzer): every seed must pass without a crash.
exec "${top_builddir:-.}/tests/fuzz/config_corpus" "${top_srcdir:-.}/tests/fuzz/corpus/config"
