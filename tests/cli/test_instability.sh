#!/usr/bin/env bash
# `poets score --objective instability`: rewards are exactly −(Biopython's instability index) on
# fixture sequences, invalid lines give their reason; short runs of experiments/instability.yaml
# (free-length generation) with a one-layer protein model pre-trained at test time.
cd "$(dirname "$0")/../.." || exit 1
source tests/cli/lib.sh

FIXTURE=tests/fixtures/instability_cases.tsv
grep -v '^#' "$FIXTURE" | head -n 20 >"$TMP/cases"
cut -f1 "$TMP/cases" | "$POETS" score --objective instability >"$TMP/out" 2>"$TMP/err"
cut -f2 "$TMP/cases" | sed 's/^/-/; s/^--//' >"$TMP/want"
if cmp -s "$TMP/out" "$TMP/want"; then ok score_equals_biopython; else
    fail score_equals_biopython "$(diff "$TMP/out" "$TMP/want" | head -n 4 | tr '\n' ' ') $(head -c 200 "$TMP/err")"; fi

printf 'A\nMKXA\n\nmk\n' | "$POETS" score --objective instability >"$TMP/out" 2>&1
printf 'invalid\tsequence has 1 residues, the instability index needs at least 2\ninvalid\tresidue '"'"'X'"'"' at position 3 is not one of ACDEFGHIKLMNPQRSTVWY\ninvalid\tsequence has 0 residues, the instability index needs at least 2\ninvalid\tresidue '"'"'m'"'"' at position 1 is not one of ACDEFGHIKLMNPQRSTVWY\n' >"$TMP/want"
if cmp -s "$TMP/out" "$TMP/want"; then ok score_invalid_reasons; else
    fail score_invalid_reasons "got: $(tr '\t\n' '|;' <"$TMP/out")"; fi

expect_error error_table_missing "instability\.data: cannot read" \
    "$POETS" score --objective instability --set instability.data="$TMP/absent.tsv" </dev/null

tiny_model "$TMP/m" instability_run_setup
SMALL=(--set model="$TMP/m" --set budget=16 --set batch=8 --set K=2 --set steps_per_round=1 --set train_batch=8)
for method in poets prior; do
    if "$POETS" run experiments/instability.yaml "${SMALL[@]}" --set method="$method" --out "$TMP/$method.h5" --quiet \
        >"$TMP/$method.log" 2>&1 &&
        "$POETS" report "$TMP/$method.h5" 2>&1 | grep -Eq " instability +0 +16 "; then
        ok "run_instability_$method"
    else
        fail "run_instability_$method" "$(tail -n 2 "$TMP/$method.log" | tr '\n' ' ')"
    fi
done
finish
