#!/usr/bin/env bash
# Builds the libFuzzer targets (`make fuzz`, clang) and runs the safetensors parser fuzzer and the
# OpenQASM subset parser fuzzer for 10 seconds each on a copy of their seed corpora. Skipped when
# clang is not installed.
cd "$(dirname "$0")/../.." || exit 1
source tests/cli/lib.sh

if ! command -v clang >/dev/null 2>&1; then
    echo "skip fuzz_safetensors: clang not found"
    echo "skip fuzz_qasm: clang not found"
    exit 0
fi
if ! make -s fuzz >"$TMP/build.log" 2>&1; then
    fail fuzz "make fuzz failed: $(tail -n 5 "$TMP/build.log" | tr '\n' ' ')"
    finish
    exit
fi

# run_fuzzer NAME: build-fuzz/NAME for 10 s on a copy of tests/fuzz/corpus_<NAME without fuzz_>/.
run_fuzzer() {
    local name=$1 corpus=tests/fuzz/corpus_${1#fuzz_}
    mkdir -p "$TMP/$name"
    cp "$corpus"/* "$TMP/$name/"
    if build-fuzz/"$name" "$TMP/$name" -max_total_time=10 -artifact_prefix=build-fuzz/ >"$TMP/$name.log" 2>&1; then
        ok "$name"
    else
        fail "$name" "fuzzer found a failure (input saved in build-fuzz/): $(grep -m1 -E 'ERROR|SUMMARY' "$TMP/$name.log")"
    fi
}

run_fuzzer fuzz_safetensors
run_fuzzer fuzz_qasm
finish
