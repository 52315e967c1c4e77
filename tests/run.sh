#!/usr/bin/env bash
# Runs every unit test binary and every CLI test script, counts their "ok"/"FAIL"/"skip"
# lines, and ends with the line "N passed, N failed, N skipped". A binary or script that exits
# non-zero without reporting a failure (a crash) counts as one failure.
set -u
BUILD=${BUILD:-build}
export POETS_BIN="$PWD/$BUILD/poets"
export BUILD
pass=0 fail=0 skip=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

run_one() {
    local name=$1
    shift
    "$@" >"$log" 2>&1
    local rc=$?
    local p f s
    p=$(grep -c '^ok ' "$log")
    f=$(grep -c '^FAIL ' "$log")
    s=$(grep -c '^skip ' "$log")
    grep -E '^(FAIL|skip) ' "$log"
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        echo "FAIL $name: exited with status $rc without reporting a failure"
        tail -n 20 "$log" | sed 's/^/    /'
        f=1
    fi
    printf '%-40s %4d ok %3d failed %3d skipped\n' "$name" "$p" "$f" "$s"
    pass=$((pass + p)); fail=$((fail + f)); skip=$((skip + s))
}

for t in "$BUILD"/tests/test_*; do
    [ -x "$t" ] || continue
    run_one "$(basename "$t")" "$t"
done
for t in tests/cli/test_*.sh; do
    [ -f "$t" ] || continue
    run_one "$(basename "$t")" bash "$t"
done
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
