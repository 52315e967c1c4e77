#!/usr/bin/env bash
# `poets run` end to end on GB1 with a one-layer protein model pre-trained at test time:
# determinism, resume after --rounds and after SIGKILL, every method to its budget, and bad
# input (one error line, nothing written, nothing corrupted).
cd "$(dirname "$0")/../.." || exit 1
source tests/cli/lib.sh

tiny_model "$TMP/m" run_setup
# the same small architecture without skipping invalid records (the corpus error case below)
PRETRAIN=(--set steps=2 --set layers=1 --set width=16 --set heads=2 --set block=64 --set batch=2 --set eval_every=0
    --set holdout=0.01)
SMALL=(--set model="$TMP/m" --set budget=32 --set batch=8 --set K=2 --set steps_per_round=2 --set train_batch=8)
# LONG: long enough (tens of rounds) to be killed mid-run; a near-greedy sampler with one
# re-sample submits duplicates in every round, so that their count must survive the kill too
LONG=(--set budget=160 --set steps_per_round=16 --set temperature=0.001 --set dedupe_tries=1)

# run NAME [ARGS...]: a small GB1 run into $TMP/NAME.h5; the log is in $TMP/NAME.log
run() {
    local name=$1
    shift
    "$POETS" run experiments/gb1.yaml "${SMALL[@]}" "$@" --out "$TMP/$name.h5" --quiet >"$TMP/$name.log" 2>&1 ||
        { fail "run_$name" "run failed: $(tail -n 2 "$TMP/$name.log" | tr '\n' ' ')"; return 1; }
}
# compare_is NAME EXPECTED_STATUS A B
compare_is() {
    "$POETS" compare "$3" "$4" >"$TMP/cmp" 2>&1
    local rc=$?
    if [ "$rc" -eq "$2" ]; then ok "$1"; else fail "$1" "compare exited $rc, expected $2: $(head -c 400 "$TMP/cmp")"; fi
}
# json_field FILE KEY: a number or boolean from `poets report --json`
json_field() { "$POETS" report --json "$1" 2>/dev/null | grep -Eo "\"$2\":[^,}]+" | cut -d: -f2; }

# ---- determinism ----
run det_a && run det_b && compare_is run_deterministic 0 "$TMP/det_a.h5" "$TMP/det_b.h5"
run det_seed1 --set seed=1 && compare_is run_seed_changes_run 1 "$TMP/det_a.h5" "$TMP/det_seed1.h5"
# no reference cache: every KL reference recomputed in the training batches, the same bits
run det_nocache --set ref_cache_mb=0 && compare_is run_ref_cache_off_same_run 0 "$TMP/det_a.h5" "$TMP/det_nocache.h5"
# the bootstrap variants draw from their own streams too
VARIANT=(--set K=3 --set bootstrap=bernoulli --set bootstrap_p=0.6 --set perturb_sigma=0.5 --set invalid=skip)
run var_a "${VARIANT[@]}" && run var_b "${VARIANT[@]}" && compare_is run_deterministic_variant 0 "$TMP/var_a.h5" "$TMP/var_b.h5"

# ---- resume after --rounds: the same run file as one uninterrupted run ----
if run part --rounds 2 && [ "$(json_field "$TMP/part.h5" rounds)" = 2 ] &&
    [ "$(json_field "$TMP/part.h5" complete)" = false ] &&
    "$POETS" run --resume "$TMP/part.h5" --rounds 1 --quiet >"$TMP/log" 2>&1 &&
    [ "$(json_field "$TMP/part.h5" rounds)" = 3 ] &&
    "$POETS" run --resume "$TMP/part.h5" --quiet >"$TMP/log" 2>&1; then
    compare_is run_resume_rounds 0 "$TMP/det_a.h5" "$TMP/part.h5"
else
    fail run_resume_rounds "$(cat "$TMP/log" | head -c 400) rounds $(json_field "$TMP/part.h5" rounds)"
fi
if run var_part "${VARIANT[@]}" --rounds 1 && "$POETS" run --resume "$TMP/var_part.h5" --quiet >"$TMP/log" 2>&1; then
    compare_is run_resume_rounds_variant 0 "$TMP/var_a.h5" "$TMP/var_part.h5"
else
    fail run_resume_rounds_variant "$(head -c 400 "$TMP/log")"
fi
# resuming a complete run changes nothing
sum=$(md5sum <"$TMP/det_a.h5")
if "$POETS" run --resume "$TMP/det_a.h5" --quiet >"$TMP/log" 2>&1 && [ "$(md5sum <"$TMP/det_a.h5")" = "$sum" ]; then
    ok run_resume_complete
else
    fail run_resume_complete "$(head -c 400 "$TMP/log")"
fi

# ---- SIGKILL, then --resume: as if never interrupted ----
# Kill -9 once a round is committed and the next round's evaluations are written but the round
# is not yet committed (it is training), so that the resume continues an uncommitted round at
# train (algorithm page §7). Timing decides where the kill lands: retry (resuming in the
# background again) until it lands there.
run kill_ref "${LONG[@]}"
pending=0 rounds=0
for attempt in 1 2 3 4 5; do
    if [ "$attempt" -eq 1 ]; then
        "$POETS" run experiments/gb1.yaml "${SMALL[@]}" "${LONG[@]}" --out "$TMP/killed.h5" --quiet >/dev/null 2>&1 &
    else
        "$POETS" run --resume "$TMP/killed.h5" --quiet >/dev/null 2>&1 &
    fi
    run_pid=$!
    start_rounds=${rounds:-0}
    for _ in $(seq 2400); do # up to ~2 min (sanitizer builds are slow)
        rounds=$(json_field "$TMP/killed.h5" rounds)
        evals=$(json_field "$TMP/killed.h5" evaluations)
        [ "${rounds:-0}" -gt "$start_rounds" ] && [ "${evals:-0}" -gt $((rounds * 8)) ] && break
        kill -0 "$run_pid" 2>/dev/null || break
        sleep 0.02
    done
    kill -KILL "$run_pid" 2>/dev/null
    wait "$run_pid" 2>/dev/null
    rounds=$(json_field "$TMP/killed.h5" rounds)
    evals=$(json_field "$TMP/killed.h5" evaluations)
    [ "$(json_field "$TMP/killed.h5" complete)" = false ] || break
    if [ "${evals:-0}" -gt $((rounds * 8)) ]; then pending=1; break; fi
done
echo "# killed $attempt time(s), last after $rounds committed rounds with $evals evaluations"
if [ "$(json_field "$TMP/killed.h5" complete)" != false ]; then
    fail run_sigkill_resume "the run was not interrupted (rounds ${rounds:-none} when killed)"
elif [ "$pending" -eq 0 ]; then
    fail run_sigkill_resume "no kill landed inside a round in $attempt attempts"
elif ! "$POETS" run --resume "$TMP/killed.h5" --quiet >"$TMP/log" 2>&1; then
    fail run_sigkill_resume "resume failed: $(head -c 400 "$TMP/log")"
else
    compare_is run_sigkill_resume 0 "$TMP/kill_ref.h5" "$TMP/killed.h5"
fi

# ---- every method runs to its budget ----
for method in poets single prior random ga gp_ts; do
    extra=()
    [ "$method" = single ] && extra=(--set K=1)
    if run "m_$method" --set method="$method" "${extra[@]}" && [ "$(json_field "$TMP/m_$method.h5" evaluations)" = 32 ] &&
        [ "$(json_field "$TMP/m_$method.h5" complete)" = true ]; then
        ok "run_method_$method"
    else
        fail "run_method_$method" "$("$POETS" report --json "$TMP/m_$method.h5" 2>&1 | head -c 400)"
    fi
done

# ---- bad input: one error line, no crash, nothing written or changed ----
# expect_error_absent NAME PATTERN PATH CMD...: expect_error, and PATH does not exist afterwards
expect_error_absent() {
    local name=$1 pattern=$2 path=$3
    shift 3
    expect_error "$name" "$pattern" "$@"
    if [ -e "$path" ]; then fail "${name}_wrote" "$path was created"; fi
}
# expect_error_unchanged NAME PATTERN PATH CMD...: expect_error, and PATH keeps its bytes
expect_error_unchanged() {
    local name=$1 pattern=$2 path=$3
    shift 3
    local before
    before=$(md5sum <"$path")
    expect_error "$name" "$pattern" "$@"
    if [ "$(md5sum <"$path")" != "$before" ]; then fail "${name}_changed" "$path was modified"; fi
}
RUN=("$POETS" run)
expect_error_absent run_missing_config 'nope\.yaml' "$TMP/x.h5" "${RUN[@]}" "$TMP/nope.yaml" "${SMALL[@]}" --out "$TMP/x.h5"
printf 'objective: gb1\nbudget: [32, 8\n' >"$TMP/bad.yaml"
expect_error_absent run_malformed_yaml 'bad\.yaml.*YAML' "$TMP/x.h5" \
    "${RUN[@]}" "$TMP/bad.yaml" "${SMALL[@]}" --out "$TMP/x.h5"
expect_error_absent run_unknown_key "unknown key 'bogus'" "$TMP/x.h5" \
    "${RUN[@]}" experiments/gb1.yaml "${SMALL[@]}" --set bogus=1 --out "$TMP/x.h5"
expect_error_absent run_wrong_type "'K'.*integer.*'abc'" "$TMP/x.h5" \
    "${RUN[@]}" experiments/gb1.yaml "${SMALL[@]}" --set K=abc --out "$TMP/x.h5"
cp -r "$TMP/m" "$TMP/m_notok" && rm "$TMP/m_notok/tokenizer.json"
expect_error_absent run_model_without_tokenizer 'm_notok.*tokenizer' "$TMP/x.h5" \
    "${RUN[@]}" experiments/gb1.yaml "${SMALL[@]}" --set model="$TMP/m_notok" --out "$TMP/x.h5"
printf '>ok\nMKTAYIAKQR\n>bad\nMKVLBAAGJ\n' >"$TMP/bad.fasta"
expect_error_absent pretrain_invalid_residue "bad\.fasta.*line 4.*'B'" "$TMP/m_bad" \
    "$POETS" pretrain --corpus "$TMP/bad.fasta" --out "$TMP/m_bad" "${PRETRAIN[@]}"
expect_error run_unwritable_output 'nonexistent-dir/x\.h5' \
    "${RUN[@]}" experiments/gb1.yaml "${SMALL[@]}" --out /nonexistent-dir/x.h5
expect_error_unchanged run_existing_output 'det_b\.h5.*already exists' "$TMP/det_b.h5" \
    "${RUN[@]}" experiments/gb1.yaml "${SMALL[@]}" --out "$TMP/det_b.h5"
echo "not a run file" >"$TMP/junk.h5"
expect_error_unchanged run_resume_not_a_run_file 'junk\.h5' "$TMP/junk.h5" "${RUN[@]}" --resume "$TMP/junk.h5"
expect_error_unchanged run_resume_yaml 'bad\.yaml' "$TMP/bad.yaml" "${RUN[@]}" --resume "$TMP/bad.yaml"
expect_error_unchanged run_resume_with_set 'resume.*--set' "$TMP/part.h5" \
    "${RUN[@]}" --resume "$TMP/part.h5" --set K=3
expect_error_unchanged run_resume_with_out '--out' "$TMP/part.h5" \
    "${RUN[@]}" --resume "$TMP/part.h5" --out "$TMP/x.h5"
expect_error_absent run_resume_missing 'nope\.h5' "$TMP/nope.h5" "${RUN[@]}" --resume "$TMP/nope.h5"
finish
