# Helpers for CLI test scripts: each check prints "ok NAME" or "FAIL NAME: why".
# POETS_BIN is set by tests/run.sh. Scripts source this file and call the helpers.
POETS=${POETS_BIN:-build/poets}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
failures=0

ok() { echo "ok $1"; }
fail() { echo "FAIL $1: $2"; failures=$((failures + 1)); }

# expect_error NAME PATTERN CMD...: CMD must exit non-zero, print exactly one line on stderr
# matching PATTERN (extended regex), and not crash (no signal exit status).
expect_error() {
    local name=$1 pattern=$2
    shift 2
    "$@" >"$TMP/out" 2>"$TMP/err"
    local rc=$?
    local lines
    lines=$(wc -l <"$TMP/err")
    if [ "$rc" -eq 0 ]; then fail "$name" "exit status 0, expected an error"; return; fi
    if [ "$rc" -ge 128 ]; then fail "$name" "crashed with status $rc: $(head -c 300 "$TMP/err")"; return; fi
    if [ "$lines" -ne 1 ]; then fail "$name" "expected one error line, got $lines: $(head -c 300 "$TMP/err")"; return; fi
    if ! grep -Eq -- "$pattern" "$TMP/err"; then fail "$name" "error '$(cat "$TMP/err")' does not match /$pattern/"; return; fi
    ok "$name"
}

finish() { [ "$failures" -eq 0 ]; }

# tiny_model DIR NAME: pre-trains a one-layer protein model in about a second (for runs in tests);
# on failure records "FAIL NAME" and exits the script after its summary.
TINY_PRETRAIN=(--set steps=2 --set layers=1 --set width=16 --set heads=2 --set block=64 --set batch=2
    --set eval_every=0 --set holdout=0.01 --set invalid_records=skip)
tiny_model() {
    if ! "$POETS" pretrain --corpus data/pdb_chains.fasta.gz --out "$1" "${TINY_PRETRAIN[@]}" >"$TMP/tiny.log" 2>&1; then
        fail "$2" "pretrain failed: $(tail -n 2 "$TMP/tiny.log" | tr '\n' ' ')"
        finish
        exit
    fi
}
