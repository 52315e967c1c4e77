#!/usr/bin/env bash
# `poets sample` and `poets logprob` on the fixture model: sample counts, seeding, adapters and
# length bound; logprob against the float64 transformers/PEFT references of
# tests/fixtures/logprob_cases.json (relative error below 1e-4); --version, help and bad usage.
cd "$(dirname "$0")/../.." || exit 1
source tests/cli/lib.sh

FIX=tests/fixtures
MODEL=$FIX/tiny-gpt2

# --- sample ----------------------------------------------------------------------------------
sample() { "$POETS" sample --model "$MODEL" "$@"; }

if sample -n 5 --seed 11 --max-len 20 >"$TMP/s1" 2>"$TMP/err" && [ "$(wc -l <"$TMP/s1")" -eq 5 ]; then
    ok sample_n5_lines
else
    fail sample_n5_lines "$(wc -l <"$TMP/s1") lines: $(head -c 300 "$TMP/err")"
fi

sample -n 5 --seed 11 --max-len 20 >"$TMP/s2" 2>/dev/null
if cmp -s "$TMP/s1" "$TMP/s2" && [ -s "$TMP/s1" ]; then ok sample_same_seed; else fail sample_same_seed "outputs differ"; fi

sample -n 5 --seed 12 --max-len 20 >"$TMP/s3" 2>/dev/null
if [ -s "$TMP/s3" ] && ! cmp -s "$TMP/s1" "$TMP/s3"; then ok sample_other_seed; else fail sample_other_seed "same output"; fi

# Many samples (more than one internal chunk): still one line each, even when the model
# generates line breaks.
if sample -n 150 --seed 3 --max-len 30 >"$TMP/many" 2>"$TMP/err" && [ "$(wc -l <"$TMP/many")" -eq 150 ]; then
    ok sample_n150_lines
else
    fail sample_n150_lines "$(wc -l <"$TMP/many") lines: $(head -c 300 "$TMP/err")"
fi

if sample -n 5 --seed 11 --max-len 20 --adapter "$FIX/tiny-gpt2-lora" >"$TMP/sa" 2>"$TMP/err" &&
    [ "$(wc -l <"$TMP/sa")" -eq 5 ] && ! cmp -s "$TMP/s1" "$TMP/sa"; then
    ok sample_adapter
else
    fail sample_adapter "$(head -c 300 "$TMP/err")"
fi

if sample -n 4 --seed 5 --max-len 8 --prompt MKT --temperature 0.7 --top-p 0.9 >"$TMP/sp" 2>"$TMP/err" &&
    [ "$(wc -l <"$TMP/sp")" -eq 4 ]; then
    ok sample_prompt_options
else
    fail sample_prompt_options "$(head -c 300 "$TMP/err")"
fi

# --max-len 3: at most 3 generated tokens; the longest vocabulary entry of the fixture tokenizer
# decodes to 6 bytes (`HHHHHH`), so a line holds at most 18 bytes. Without the bound the random
# model writes far longer lines.
max_tok_bytes=6
longest=$(sample -n 40 --seed 9 --max-len 3 | LC_ALL=C awk '{ if (length($0) > m) m = length($0) } END { print m + 0 }')
longest_free=$(sample -n 40 --seed 9 --max-len 64 | LC_ALL=C awk '{ if (length($0) > m) m = length($0) } END { print m + 0 }')
if [ "$longest" -le $((3 * max_tok_bytes)) ] && [ "$longest_free" -gt $((3 * max_tok_bytes)) ]; then
    ok sample_max_len
else
    fail sample_max_len "longest line $longest bytes with --max-len 3, $longest_free with 64"
fi

# --- logprob ---------------------------------------------------------------------------------
# logprob_cases.json holds one case object per line; its strings hold no quote or backslash.
field() { sed -n "s/.*\"$1\": \"\([^\"]*\)\".*/\1/p"; }
n_cases=0 n_bad=0
while IFS= read -r line; do
    case $line in *'"logprob"'*) ;; *) continue ;; esac
    n_cases=$((n_cases + 1))
    adapter=$(field adapter <<<"$line")
    prompt=$(field prompt <<<"$line")
    text=$(field text <<<"$line")
    want=$(sed -n 's/.*"logprob": \([-0-9.eE+]*\)}.*/\1/p' <<<"$line")
    args=(logprob --model "$MODEL")
    [ -n "$adapter" ] && args+=(--adapter "$FIX/$adapter")
    [ -n "$prompt" ] && args+=(--prompt "$prompt")
    got=$(printf '%s\n' "$text" | "$POETS" "${args[@]}" 2>"$TMP/err")
    if ! awk -v g="$got" -v w="$want" 'BEGIN { d = g - w; if (d < 0) d = -d; r = w < 0 ? -w : w;
                                               exit !(g != "" && d <= 1e-4 * r) }'; then
        n_bad=$((n_bad + 1))
        fail "logprob_case_$n_cases" "adapter '$adapter' prompt '$prompt' text '$text': got '$got', want $want $(head -c 200 "$TMP/err")"
    fi
done <"$FIX/logprob_cases.json"
if [ "$n_cases" -ge 32 ] && [ "$n_bad" -eq 0 ]; then ok "logprob_cases_$n_cases"; fi
[ "$n_cases" -ge 32 ] || fail logprob_cases "read only $n_cases cases from $FIX/logprob_cases.json"

# All base-model cases at once on stdin (batched scoring): the same numbers, one line each.
grep '"adapter": "", "prompt": ""' "$FIX/logprob_cases.json" | field text >"$TMP/texts"
grep '"adapter": "", "prompt": ""' "$FIX/logprob_cases.json" | sed -n 's/.*"logprob": \([-0-9.eE+]*\)}.*/\1/p' >"$TMP/want"
"$POETS" logprob --model "$MODEL" <"$TMP/texts" >"$TMP/got" 2>"$TMP/err"
if [ "$(wc -l <"$TMP/got")" -eq "$(wc -l <"$TMP/texts")" ] &&
    paste "$TMP/got" "$TMP/want" | awk '{ d = $1 - $2; if (d < 0) d = -d; r = $2 < 0 ? -$2 : $2; if (d > 1e-4 * r) bad++ }
                                        END { exit bad > 0 }'; then
    ok logprob_batch
else
    fail logprob_batch "$(paste "$TMP/got" "$TMP/want" | head -c 300) $(head -c 200 "$TMP/err")"
fi

# Scores agree across batch compositions up to float32 rounding (the GEMM blocking depends on
# the batch size, so the last bits may differ): relative 1e-6.
close_lines() { # FILE_A FILE_B: same number of lines, each pair within 1e-6 relative
    [ "$(wc -l <"$1")" -eq "$(wc -l <"$2")" ] && [ -s "$1" ] &&
        paste "$1" "$2" | awk '{ d = $1 - $2; if (d < 0) d = -d; r = $2 < 0 ? -$2 : $2; if (d > 1e-6 * r) bad++ }
                              END { exit bad > 0 }'
}
# More than one internal batch (16 lines): line order is kept.
for _ in 1 2 3; do cat "$TMP/texts"; done >"$TMP/texts3"
"$POETS" logprob --model "$MODEL" <"$TMP/texts3" >"$TMP/got3" 2>/dev/null
cat "$TMP/got" "$TMP/got" "$TMP/got" >"$TMP/want3"
if close_lines "$TMP/got3" "$TMP/want3"; then ok logprob_many_batches; else fail logprob_many_batches "$(paste "$TMP/got3" "$TMP/want3" | head -c 300)"; fi

# CRLF input scores like LF input.
printf 'MKTAYIAKQRQISFVKSHFSRQ\r\n' | "$POETS" logprob --model "$MODEL" >"$TMP/crlf" 2>/dev/null
head -n 1 "$TMP/got" >"$TMP/lf"
if close_lines "$TMP/crlf" "$TMP/lf"; then ok logprob_crlf; else fail logprob_crlf "$(cat "$TMP/crlf")"; fi

# No input: no output, success.
if "$POETS" logprob --model "$MODEL" </dev/null >"$TMP/none" 2>"$TMP/err" && [ ! -s "$TMP/none" ]; then
    ok logprob_empty_stdin
else
    fail logprob_empty_stdin "$(head -c 300 "$TMP/err")"
fi

# A line longer than n_positions (128) is an error naming stdin and the line.
awk 'BEGIN { s = ""; for (i = 0; i < 300; i++) s = s "W~"; print "MKT"; print s }' >"$TMP/long"
expect_error logprob_too_long 'stdin line 2' "$POETS" logprob --model "$MODEL" <"$TMP/long"

# --- version, help, bad usage ----------------------------------------------------------------
if "$POETS" --version >"$TMP/v" 2>&1 && grep -Eq '^poets [0-9]+\.[0-9]+\.[0-9]+$' "$TMP/v"; then
    ok version
else
    fail version "$(head -c 200 "$TMP/v")"
fi
if "$POETS" help >"$TMP/h" 2>&1 && grep -q 'poets sample' "$TMP/h" && grep -q 'poets logprob' "$TMP/h"; then
    ok help
else
    fail help "$(head -c 200 "$TMP/h")"
fi
expect_error unknown_verb 'unknown command' "$POETS" frobnicate
"$POETS" frobnicate >/dev/null 2>&1
rc=$?
if [ "$rc" -eq 2 ]; then ok unknown_verb_status; else fail unknown_verb_status "exit $rc, expected 2"; fi
expect_error sample_unknown_option "unknown option '--bogus'" "$POETS" sample --model "$MODEL" --bogus
expect_error logprob_unknown_option "unknown option '--bogus'" "$POETS" logprob --model "$MODEL" --bogus </dev/null
expect_error sample_missing_model 'model' "$POETS" sample -n 2
expect_error logprob_missing_model 'model' "$POETS" logprob </dev/null
expect_error sample_missing_value "max-len" "$POETS" sample --model "$MODEL" --max-len
expect_error sample_bad_n "-n" "$POETS" sample --model "$MODEL" -n 0
expect_error sample_bad_n_text "-n" "$POETS" sample --model "$MODEL" -n five
expect_error sample_bad_top_p "top-p" "$POETS" sample --model "$MODEL" --top-p 1.5
expect_error sample_bad_temperature "temperature" "$POETS" sample --model "$MODEL" --temperature -1
expect_error sample_missing_adapter 'nonexistent' "$POETS" sample --model "$MODEL" --adapter "$TMP/nonexistent"
expect_error logprob_missing_model_dir 'nonexistent' "$POETS" logprob --model "$TMP/nonexistent" </dev/null

finish
