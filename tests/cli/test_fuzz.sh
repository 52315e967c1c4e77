#!/usr/bin/env bash
# Builds the libFuzzer targets (`make fuzz`, clang) and runs the safetensors parser fuzzer for
# 10 seconds on a copy of its seed corpus. Skipped when clang is not installed.
cd "$(dirname "$0")/../.." || exit 1
source tests/cli/lib.sh

if ! command -v clang >/dev/null 2>&1; then
    echo "skip fuzz_safetensors: clang not found"
    exit 0
fi
if ! make -s fuzz >"$TMP/build.log" 2>&1; then
    fail fuzz_safetensors "make fuzz failed: $(tail -n 5 "$TMP/build.log" | tr '\n' ' ')"
    finish
    exit
fi
mkdir -p "$TMP/corpus"
cp tests/fuzz/corpus_safetensors/* "$TMP/corpus/"
if build-fuzz/fuzz_safetensors "$TMP/corpus" -max_total_time=10 -artifact_prefix=build-fuzz/ >"$TMP/fuzz.log" 2>&1; then
    ok fuzz_safetensors
else
    fail fuzz_safetensors "fuzzer found a failure (input saved in build-fuzz/): $(grep -m1 -E 'ERROR|SUMMARY' "$TMP/fuzz.log")"
fi
finish
