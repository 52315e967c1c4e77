#!/usr/bin/env bash
# `poets report`, `poets export` and `poets compare` on small GB1 run files made at test time
# (a one-layer protein model pre-trained for two steps, then random, ga and poets runs).
cd "$(dirname "$0")/../.." || exit 1
source tests/cli/lib.sh

tiny_model "$TMP/m" report_setup
make_run() { # NAME METHOD BUDGET [--set ...]
    local name=$1 method=$2 budget=$3
    shift 3
    "$POETS" run experiments/gb1.yaml --set model="$TMP/m" --set method="$method" --set budget="$budget" \
        --set batch=8 "$@" --out "$TMP/$name.h5" --quiet >"$TMP/log" 2>&1 ||
        fail "report_setup_$name" "run failed: $(tail -n 2 "$TMP/log" | tr '\n' ' ')"
}
make_run random random 32
make_run ga ga 32
make_run poets poets 16 --set K=2 --set steps_per_round=1
if [ "$failures" -ne 0 ]; then finish; exit; fi

# report: table
if "$POETS" report "$TMP/random.h5" "$TMP/ga.h5" >"$TMP/table" 2>"$TMP/err" &&
    [ "$(wc -l <"$TMP/table")" -eq 3 ] && grep -q '^file .*method .*best' "$TMP/table" &&
    grep -Eq "random\.h5 +random +gb1 +0 +32 " "$TMP/table" && grep -Eq "ga\.h5 +ga +gb1 +0 +32 " "$TMP/table"; then
    ok report_table
else
    fail report_table "$(cat "$TMP/table" "$TMP/err" | head -c 600)"
fi

# report: a run killed before its budget is marked incomplete (every save is atomic, so the file
# is a complete snapshot whenever the kill lands)
"$POETS" run experiments/gb1.yaml --set model="$TMP/m" --set method=random --set budget=100000 --set batch=8 \
    --out "$TMP/killed.h5" --quiet >/dev/null 2>&1 &
run_pid=$!
for _ in $(seq 200); do [ -f "$TMP/killed.h5" ] && break; sleep 0.05; done
kill "$run_pid" 2>/dev/null
wait "$run_pid" 2>/dev/null
if "$POETS" report "$TMP/killed.h5" >"$TMP/out" 2>&1 && grep -Eq '\(incomplete: [0-9]+/100000\)' "$TMP/out" &&
    ! "$POETS" report "$TMP/random.h5" | grep -q incomplete; then
    ok report_incomplete
else
    fail report_incomplete "$(head -c 400 "$TMP/out")"
fi

# report --json: one object per file, numbers as numbers
if "$POETS" report --json "$TMP/random.h5" "$TMP/ga.h5" >"$TMP/json" 2>"$TMP/err" &&
    [ "$(wc -l <"$TMP/json")" -eq 2 ] &&
    [ "$(grep -c '^{"file":".*","method":"\(random\|ga\)","objective":"gb1","seed":0,"budget":32,"evaluations":32,' "$TMP/json")" -eq 2 ] &&
    [ "$(grep -Ec '"best_value":[-0-9.e]+,"best_sequence":"[A-Z]{4}","simple_regret":[-0-9.e]+,"cum_regret":[-0-9.e]+,"duplicates":[0-9]+,"t_generate":[0-9.e-]+,"t_evaluate":[0-9.e-]+,"t_train":[0-9.e-]+}$' "$TMP/json")" -eq 2 ]; then
    ok report_json
else
    fail report_json "$(cat "$TMP/json" "$TMP/err" | head -c 800)"
fi

# report --svg: a self-contained plot with two lines per run
if "$POETS" report "$TMP/random.h5" "$TMP/ga.h5" --svg "$TMP/plot.svg" >/dev/null 2>"$TMP/err" &&
    head -c 4 "$TMP/plot.svg" | grep -q '<svg' && tail -n 1 "$TMP/plot.svg" | grep -q '</svg>' &&
    [ "$(grep -c '<polyline' "$TMP/plot.svg")" -eq 4 ] && grep -q 'random seed 0' "$TMP/plot.svg" &&
    grep -q 'ga seed 0' "$TMP/plot.svg"; then
    ok report_svg
else
    fail report_svg "$(head -c 300 "$TMP/plot.svg" 2>/dev/null) $(cat "$TMP/err")"
fi

expect_error report_missing_file 'nope\.h5' "$POETS" report "$TMP/nope.h5"
echo "not hdf5" >"$TMP/junk.h5"
expect_error report_not_a_run_file 'junk\.h5' "$POETS" report "$TMP/random.h5" "$TMP/junk.h5"
expect_error report_no_files 'run file' "$POETS" report --json

# export
expect_error export_no_members 'random\.h5: method random has no ensemble members to export' \
    "$POETS" export "$TMP/random.h5" --member 0 --out "$TMP/adapter_random"
expect_error export_member_range 'member 2 out of range' "$POETS" export "$TMP/poets.h5" --member 2 --out "$TMP/a2"
if "$POETS" export "$TMP/poets.h5" --member 1 --out "$TMP/adapter" >/dev/null 2>"$TMP/err" &&
    [ -f "$TMP/adapter/adapter_config.json" ] && [ -f "$TMP/adapter/adapter_model.safetensors" ] &&
    [ "$("$POETS" sample --model "$TMP/m" --adapter "$TMP/adapter" -n 2 --max-len 8 2>"$TMP/err2" | wc -l)" -eq 2 ]; then
    ok export_member
else
    fail export_member "$(cat "$TMP/err" "$TMP/err2" 2>/dev/null | head -c 400)"
fi
expect_error export_refuses_overwrite 'adapter.*refusing to overwrite' \
    "$POETS" export "$TMP/poets.h5" --member 0 --out "$TMP/adapter"

# compare
if out=$("$POETS" compare "$TMP/ga.h5" "$TMP/ga.h5" 2>&1) && echo "$out" | grep -q identical; then
    ok compare_identical
else
    fail compare_identical "$out"
fi
"$POETS" compare "$TMP/random.h5" "$TMP/ga.h5" >"$TMP/out" 2>&1
rc=$?
if [ "$rc" -eq 1 ] && [ -s "$TMP/out" ]; then ok compare_different; else fail compare_different "status $rc: $(cat "$TMP/out")"; fi
"$POETS" compare "$TMP/ga.h5" "$TMP/nope.h5" >/dev/null 2>"$TMP/err"
rc=$?
if [ "$rc" -eq 2 ] && [ "$(wc -l <"$TMP/err")" -eq 1 ] && grep -q 'nope\.h5' "$TMP/err"; then
    ok compare_missing_file
else
    fail compare_missing_file "status $rc: $(cat "$TMP/err")"
fi
finish
