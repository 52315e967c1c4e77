#!/usr/bin/env bash
# Inputs found by adversarial testing: each must give one error line, a non-zero exit and leave
# existing files untouched.
cd "$(dirname "$0")/../.." || exit 1
source tests/cli/lib.sh

tiny_model "$TMP/m" robustness_setup
RUN=(experiments/gb1.yaml --set model="$TMP/m" --set budget=16 --set batch=8 --set K=2 --set steps_per_round=1 --quiet)
"$POETS" run "${RUN[@]}" --out "$TMP/r.h5" >/dev/null 2>&1 || fail setup "run failed"

# the plot never replaces an existing file, here the run file itself
sum=$(md5sum <"$TMP/r.h5")
expect_error report_svg_onto_input 'already exists' "$POETS" report "$TMP/r.h5" --svg "$TMP/r.h5"
[ "$(md5sum <"$TMP/r.h5")" = "$sum" ] && ok report_svg_input_unchanged || fail report_svg_input_unchanged "run file changed"

# export never writes into a non-empty directory (e.g. a model directory)
expect_error export_into_model_dir 'not empty' "$POETS" export "$TMP/r.h5" --member 0 --out "$TMP/m"

# values that would overflow training are refused up front
expect_error beta_overflow "key 'beta'" "$POETS" run "${RUN[@]}" --set beta=1e30 --out "$TMP/b.h5"
expect_error temperature_underflow "key 'temperature'" "$POETS" run "${RUN[@]}" --set temperature=1e-308 --out "$TMP/t.h5"
[ ! -e "$TMP/b.h5" ] && [ ! -e "$TMP/t.h5" ] && ok refused_runs_write_nothing || fail refused_runs_write_nothing "file written"

# deeply nested sections: a clear error, not a stack overflow
{
    echo "objective: gb1"
    printf 'ga:\n'
    for i in $(seq 1 40); do printf '%*sa%d:\n' "$((2 * i))" '' "$i"; done
    printf '%*sb: 1\n' 82 ''
} >"$TMP/deep.yaml"
expect_error deep_yaml 'nested deeper than 8 levels' "$POETS" run "$TMP/deep.yaml" --out "$TMP/d.h5"

# stdin that cannot be read is an error, not an empty success
expect_error score_unreadable_stdin 'stdin' "$POETS" score --objective gb1 <"$TMP"
# one process per run file: a second process on the same file is refused while the first runs
"$POETS" run "${RUN[@]}" --set budget=400 --set steps_per_round=4 --out "$TMP/long.h5" >/dev/null 2>&1 &
pid=$!
for _ in $(seq 1 100); do [ -e "$TMP/long.h5" ] && break; sleep 0.1; done
expect_error concurrent_resume 'another poets process is running this run file' \
    "$POETS" run --resume "$TMP/long.h5" --quiet
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
finish
