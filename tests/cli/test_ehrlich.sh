#!/usr/bin/env bash
# `poets score --objective ehrlich` on the known-answer instance of the Ehrlich page (§8.2, §9.4)
# and on an instance file (the worked example of §3.6), configuration and instance-file errors
# (one line each), and short runs of every experiments/ehrlich_*.yaml (and of an instance file,
# resumed) with a one-layer protein model pre-trained at test time.
cd "$(dirname "$0")/../.." || exit 1
source tests/cli/lib.sh

KA=(--set ehrlich.v=32 --set ehrlich.L=32 --set ehrlich.c=4 --set ehrlich.k=4)

# ---- score: the spec's known answers ----
printf 'VVVIKKLVWWWTEZBBTTTIWWTTEEbbbbbb\nAQdbbMQHLEEEXZRZZPSQKIGXfOfPHHYN\naaHMKZZUKCSKRVcQYFPeHPLEIbCJRZeF\nvvvIKKLVWWWTEZBBTTTIWWTTEEbbbbbb\nVVV\n' |
    "$POETS" score --objective ehrlich "${KA[@]}" >"$TMP/out" 2>"$TMP/err"
printf '1\n0.0078125\n0\tinfeasible\ninvalid\tcharacter '"'"'v'"'"' at position 1 is not in the instance'"'"'s alphabet ACDEFGHIKLMNPQRSTVWYBJOUXZabcdef\ninvalid\tsequence has 3 characters, expected L = 32\n' >"$TMP/want"
if cmp -s "$TMP/out" "$TMP/want"; then ok score_known_answers; else
    fail score_known_answers "got: $(tr '\t\n' '|;' <"$TMP/out") $(head -c 200 "$TMP/err")"; fi

# q = 2 halves the levels: m = (1, 1, 2, 1) gives 0 * ... = 0; the optimum still scores 1
printf 'VVVIKKLVWWWTEZBBTTTIWWTTEEbbbbbb\nAQdbbMQHLEEEXZRZZPSQKIGXfOfPHHYN\n' |
    "$POETS" score --objective ehrlich "${KA[@]}" --set ehrlich.q=2 >"$TMP/out" 2>&1
if [ "$(tr '\n' ' ' <"$TMP/out")" = "1 0 " ]; then ok score_quantization; else
    fail score_quantization "got: $(tr '\n' ' ' <"$TMP/out")"; fi

# ---- score: an instance file (worked example of §3.6, letters ACDEFG for tokens 0..5) ----
cat >"$TMP/example.json" <<'JSON'
{"v": 6, "L": 8, "c": 1, "k": 3, "q": 3, "alphabet": "ACDEFG",
 "feasible": ["111101", "011111", "111111", "111111", "111110", "101111"],
 "motifs": [[2, 0, 5]], "offsets": [[0, 2, 5]], "provenance": "Ehrlich page 3.6"}
JSON
printf 'DDAAAGGG\nCDDAAAGG\nDDAAEEEE\nEEEEEEEE\nDDAAFGGG\n' >"$TMP/rows"
"$POETS" score --objective ehrlich --set instance="$TMP/example.json" <"$TMP/rows" >"$TMP/out" 2>"$TMP/err"
printf '1\n1\n0.66666666666666663\n0\n0\tinfeasible\n' >"$TMP/want"
if cmp -s "$TMP/out" "$TMP/want"; then ok score_instance_file; else
    fail score_instance_file "got: $(tr '\t\n' '|;' <"$TMP/out") $(head -c 200 "$TMP/err")"; fi

printf 'DDAAAGGG\n' >"$TMP/one.txt"
if [ "$("$POETS" score --objective ehrlich --set instance="$TMP/example.json" "$TMP/one.txt" 2>&1)" = "1" ]; then
    ok score_file_argument; else fail score_file_argument "file argument not scored 1"; fi

# ---- errors: one line each, naming the key / file ----
expect_error error_instance_with_parameters "ehrlich\.L: must not be set together with instance" \
    "$POETS" score --objective ehrlich --set instance="$TMP/example.json" --set ehrlich.L=8 </dev/null
expect_error error_missing_parameter "ehrlich\.k: required" \
    "$POETS" score --objective ehrlich --set ehrlich.v=8 --set ehrlich.L=8 --set ehrlich.c=2 </dev/null
expect_error error_q_not_divisor "ehrlich\.q: expected a divisor of k = 8" \
    "$POETS" score --objective ehrlich --set ehrlich.v=32 --set ehrlich.L=64 --set ehrlich.c=4 --set ehrlich.k=8 \
    --set ehrlich.q=3 </dev/null
expect_error error_v_range "ehrlich\.v" \
    "$POETS" score --objective ehrlich --set ehrlich.v=60 --set ehrlich.L=8 --set ehrlich.c=1 --set ehrlich.k=2 </dev/null
expect_error error_instance_missing "instance: cannot read" \
    "$POETS" score --objective ehrlich --set instance="$TMP/absent.json" </dev/null
sed 's/"offsets"/"spacings"/' "$TMP/example.json" >"$TMP/gaps.json"
expect_error error_instance_unknown_key "gaps\.json: unknown key 'spacings'" \
    "$POETS" score --objective ehrlich --set instance="$TMP/gaps.json" </dev/null
sed 's/\[\[2, 0, 5\]\]/[[2, 0, 4]]/' "$TMP/example.json" >"$TMP/path.json"
expect_error error_instance_motif_path "path\.json: key 'motifs': transition 0 -> 4" \
    "$POETS" score --objective ehrlich --set instance="$TMP/path.json" </dev/null
expect_error error_key_of_other_objective "ehrlich\.v.*belongs to objective ehrlich" \
    "$POETS" score --objective gb1 --set ehrlich.v=8 </dev/null

# ---- short runs ----
tiny_model "$TMP/m" ehrlich_run_setup
SMALL=(--set model="$TMP/m" --set budget=16 --set batch=8 --set K=2 --set steps_per_round=1 --set train_batch=8)
# short_run NAME CONFIG [ARGS...]: runs to its budget; the report names objective ehrlich, 16 evaluations
short_run() {
    local name=$1 config=$2
    shift 2
    if ! "$POETS" run "$config" "${SMALL[@]}" "$@" --out "$TMP/$name.h5" --quiet >"$TMP/$name.log" 2>&1; then
        fail "$name" "run failed: $(tail -n 2 "$TMP/$name.log" | tr '\n' ' ')"
        return
    fi
    if "$POETS" report "$TMP/$name.h5" 2>&1 | grep -Eq " ehrlich +0 +16 "; then ok "$name"; else
        fail "$name" "report: $("$POETS" report "$TMP/$name.h5" 2>&1 | tail -n 1)"; fi
}
for config in experiments/ehrlich_*.yaml; do
    short_run "run_$(basename "$config" .yaml)" "$config"
done
short_run run_ehrlich_random experiments/ehrlich_small.yaml --set method=random
short_run run_ehrlich_ga experiments/ehrlich_small.yaml --set method=ga
# the resolved configuration (generated instance: parameters, instance_seed) reads back on resume
if "$POETS" run experiments/ehrlich_aa.yaml "${SMALL[@]}" --set ehrlich.instance_seed=7 --set ehrlich.epistasis=0.5 \
    --out "$TMP/gen.h5" --rounds 1 --quiet >"$TMP/gen.log" 2>&1 &&
    "$POETS" run --resume "$TMP/gen.h5" --quiet >>"$TMP/gen.log" 2>&1 &&
    "$POETS" report "$TMP/gen.h5" 2>&1 | grep -Eq " ehrlich +0 +16 +2 "; then
    ok run_generated_instance_resumed
else
    fail run_generated_instance_resumed "$(tail -n 2 "$TMP/gen.log" | tr '\n' ' ')"
fi
printf 'objective: ehrlich\nmethod: poets\ninstance: %s\n' "$TMP/example.json" >"$TMP/example.yaml"
if "$POETS" run "$TMP/example.yaml" "${SMALL[@]}" --out "$TMP/file.h5" --rounds 1 --quiet >"$TMP/file.log" 2>&1 &&
    "$POETS" run --resume "$TMP/file.h5" --quiet >>"$TMP/file.log" 2>&1 &&
    "$POETS" report "$TMP/file.h5" 2>&1 | grep -Eq " ehrlich +0 +16 +2 "; then
    ok run_instance_file_resumed
else
    fail run_instance_file_resumed "$(tail -n 2 "$TMP/file.log" | tr '\n' ' ')"
fi
finish
