#!/usr/bin/env bash
# `poets pretrain`: the held-out perplexity covers every held-out residue. `--init MODEL_DIR`:
# continuing a saved model keeps its weights and the seeded held-out split (a continuation that
# cannot move reproduces the held-out figures exactly), training then moves it, and bad
# combinations fail with one error line.
cd "$(dirname "$0")/../.." || exit 1
source tests/cli/lib.sh

SPLIT=(--set block=64 --set batch=2 --set eval_every=0 --set holdout=0.01 --set invalid_records=skip)
ARCH=(--set layers=1 --set width=16 --set heads=2)
# field FILE KEY: a number from training.json
field() { grep -Eo "\"$2\": [-0-9.e]+" "$1" | cut -d' ' -f2; }
# pretrain NAME ARGS...: a pretrain into $TMP/NAME; the log is in $TMP/NAME.log
pretrain() {
    local name=$1
    shift
    "$POETS" pretrain --corpus data/pdb_chains.fasta.gz --out "$TMP/$name" "$@" >"$TMP/$name.log" 2>&1 ||
        { fail "pretrain_$name" "pretrain failed: $(tail -n 2 "$TMP/$name.log" | tr '\n' ' ')"; return 1; }
}

pretrain base "${ARCH[@]}" "${SPLIT[@]}" --set steps=20 || { finish; exit; }

# the final held-out figures score every held-out residue (long chains in windows of `block`)
scored=$(sed -n 's/^final: .* over \([0-9]*\) residues$/\1/p' "$TMP/base.log")
if [ -n "$scored" ] && [ "$scored" = "$(field "$TMP/base/training.json" heldout_residues)" ]; then
    ok pretrain_heldout_scores_every_residue
else fail pretrain_heldout_scores_every_residue "scored '$scored' of $(field "$TMP/base/training.json" heldout_residues)"; fi

# a continuation whose learning rate cannot move a weight: same split, same held-out figures
if pretrain still --init "$TMP/base" "${SPLIT[@]}" --set steps=1 --set lr=1e-12; then
    same=1
    for key in train_sequences heldout_sequences train_residues heldout_residues heldout_perplexity_per_residue \
        unigram_perplexity_per_residue layers width heads positions; do
        a=$(field "$TMP/base/training.json" "$key") b=$(field "$TMP/still/training.json" "$key")
        if [ -z "$a" ] || [ "$a" != "$b" ]; then
            fail pretrain_init_keeps_weights_and_split "$key: '$a' from scratch, '$b' continued"
            same=0
            break
        fi
    done
    [ "$same" -eq 1 ] && ok pretrain_init_keeps_weights_and_split
    if grep -q "\"init\": \"$TMP/base\"" "$TMP/still/training.json"; then ok pretrain_init_recorded
    else fail pretrain_init_recorded "training.json does not name the --init model"; fi
fi

# a continuation that trains: a different model on the same split
if pretrain moved --init "$TMP/base" "${SPLIT[@]}" --set steps=20 --set warmup=2 --set lr=3e-3; then
    a=$(field "$TMP/base/training.json" heldout_perplexity_per_residue)
    b=$(field "$TMP/moved/training.json" heldout_perplexity_per_residue)
    if [ "$a" != "$b" ] && [ "$(field "$TMP/moved/training.json" heldout_sequences)" = \
        "$(field "$TMP/base/training.json" heldout_sequences)" ]; then ok pretrain_init_trains
    else fail pretrain_init_trains "held-out perplexity $a before, $b after 20 steps"; fi
    if cmp -s "$TMP/base/model.safetensors" "$TMP/moved/model.safetensors"; then
        fail pretrain_init_writes_new_weights "model.safetensors unchanged by training"
    else ok pretrain_init_writes_new_weights; fi
fi

expect_error pretrain_init_architecture_key '--set layers.*--init' \
    "$POETS" pretrain --corpus data/pdb_chains.fasta.gz --out "$TMP/x1" --init "$TMP/base" --set layers=2
expect_error pretrain_init_alphabet_key '--set alphabet.*--init' \
    "$POETS" pretrain --corpus data/pdb_chains.fasta.gz --out "$TMP/x2" --init "$TMP/base" --set alphabet=ACD
expect_error pretrain_init_missing '--init.*nope.*config\.json' \
    "$POETS" pretrain --corpus data/pdb_chains.fasta.gz --out "$TMP/x3" --init "$TMP/nope"
expect_error pretrain_init_onto_itself 'base.*already holds a model' \
    "$POETS" pretrain --corpus data/pdb_chains.fasta.gz --out "$TMP/base" --init "$TMP/base" "${SPLIT[@]}"
# a vocabulary that is not one character per token cannot be continued on a character corpus
mkdir -p "$TMP/bpe" && cp "$TMP/base/config.json" "$TMP/base/model.safetensors" "$TMP/bpe/"
sed 's/"Y":19/"YW":19/' "$TMP/base/tokenizer.json" >"$TMP/bpe/tokenizer.json"
expect_error pretrain_init_not_characters "token 19 'YW' is not one character" \
    "$POETS" pretrain --corpus data/pdb_chains.fasta.gz --out "$TMP/x4" --init "$TMP/bpe" "${SPLIT[@]}"
for d in x1 x2 x3 x4; do
    if [ -e "$TMP/$d/model.safetensors" ]; then fail pretrain_init_errors_write_nothing "$TMP/$d has a model"; fi
done
finish
