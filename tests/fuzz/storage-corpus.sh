#!/bin/sh
# tests/fuzz/storage-corpus.sh: the seed corpus through the parsers with the
# regular build (no libFuzzer): every seed must parse without a crash.
exec "${top_builddir:-.}/tests/fuzz/storage_corpus" "${top_srcdir:-.}/tests/fuzz/corpus/storage"
