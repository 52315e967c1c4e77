#!/usr/bin/env bash
# `objective: external` from the command line, with sh oracles written at test time: `poets score`
# with an oracle that answers (values, valid flags, null rewards, reasons), crashes, hangs, answers
# garbage or the wrong number of rewards (one error line each, no process left behind); `poets
# run` to its budget with a one-layer protein model pre-trained for two steps; and a run whose
# oracle crashes in round 3: the run stops with one error line, its file holds the first two
# rounds, and once the oracle is fixed the run resumes to the same result as an uninterrupted one.
cd "$(dirname "$0")/../.." || exit 1
source tests/cli/lib.sh

# ---- poets score ----
cat >"$TMP/answers.sh" <<'EOF'
while IFS= read -r line; do
  echo '{"rewards": [0.5, null, 3, -2], "values": [1.25, null, null, null], "valid": [true, true, false, true], "errors": [null, null, "has X", null]}'
done
EOF
if printf 'MKV\nWWW\nAXA\nAC\n' | "$POETS" score --objective external --set command="sh $TMP/answers.sh" >"$TMP/out" 2>"$TMP/err" &&
    [ "$(cat "$TMP/out")" = "$(printf '0.5\ninvalid\toracle gave no reward (null)\ninvalid\thas X\n-2')" ]; then
    ok external_score
else
    fail external_score "$(cat "$TMP/out" "$TMP/err" | head -c 400)"
fi
# free positions of a template: the oracle sees the template filled in
cat >"$TMP/echo_len.sh" <<'EOF'
while IFS= read -r line; do
  case "$line" in
    '{"sequences": ["MADKE", "MCDKA"]}') echo '{"rewards": [1, 2]}' ;;
    *) echo "unexpected request: $line" >&2; exit 5 ;;
  esac
done
EOF
if printf 'AE\nCA\nZZ\n' | "$POETS" score --objective external --set command="sh $TMP/echo_len.sh" \
    --set external.template=M_DK_ --set external.alphabet=ACDE >"$TMP/out" 2>"$TMP/err" &&
    [ "$(cat "$TMP/out")" = "$(printf '1\n2\ninvalid\tcharacter '"'Z'"' at position 1 is not one of ACDE')" ]; then
    ok external_score_template
else
    fail external_score_template "$(cat "$TMP/out" "$TMP/err" | head -c 400)"
fi

SEQS="$TMP/seqs"
printf 'AAAA\nCCCC\nDDDD\nEEEE\n' >"$SEQS"
score_fails() { # NAME PATTERN COMMAND [--set ...]: one error line, non-zero exit, no crash
    local name=$1 pattern=$2 command=$3
    shift 3
    expect_error "$name" "$pattern" "$POETS" score --objective external --set command="$command" "$@" <"$SEQS"
}
score_fails external_crash "^poets score: external oracle 'read -r line; exit 3': exited with status 3 before replying$" \
    'read -r line; exit 3'
# the hanging oracle's own child must go with it: it is marked by an unusual sleep length
marker=31.4159
start=$(date +%s%N)
score_fails external_timeout "external oracle '.*': no reply within 1 s \(stopped it\)$" \
    "read -r line; sleep $marker & wait" --set external.timeout=1
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
if [ "$elapsed_ms" -lt 5000 ]; then ok external_timeout_fast; else fail external_timeout_fast "took $elapsed_ms ms"; fi
left=""
for _ in $(seq 50); do # SIGKILL lands asynchronously; a zombie re-parented to init does not count
    left=$(ps -eo stat=,args= | grep "sleep $marker" | grep -v grep | grep -v '^Z')
    [ -z "$left" ] && break
    sleep 0.1
done
if [ -z "$left" ]; then ok external_timeout_cleanup; else fail external_timeout_cleanup "left running: $left"; fi
score_fails external_garbage "external oracle '.*': malformed reply: line 1 col 1: " \
    'while read -r line; do echo "rewards 1 2 3 4"; done'
score_fails external_wrong_length "external oracle '.*': reply has 3 rewards for 4 sequences$" \
    'while read -r line; do echo "{\"rewards\": [1, 2, 3]}"; done'
score_fails external_not_object "external oracle '.*': malformed reply: expected a JSON object, got array$" \
    'while read -r line; do echo "[1, 2, 3, 4]"; done'
score_fails external_empty_command "key 'command': expected a non-empty" ''
expect_error external_no_command_set "command: required for objective external" \
    "$POETS" score --objective external <"$SEQS"
defunct=$(ps -o stat= --ppid $$ | grep -c '^Z')
if [ "$defunct" -eq 0 ]; then ok external_no_defunct; else fail external_no_defunct "$defunct defunct children"; fi

# ---- poets run ----
tiny_model "$TMP/m" external_run_setup
# reward: the number of A, I, L, V in the sequence; invalid when it holds a W; exits with status 3
# on its third request while $TMP/crash exists
cat >"$TMP/oracle.sh" <<EOF
n=0
while IFS= read -r line; do
  n=\$((n + 1))
  if [ \$n -eq 3 ] && [ -f "$TMP/crash" ]; then exit 3; fi
  printf '%s\n' "\$line" | tr -d '{}[]" ' | sed 's/^sequences://' | tr ',' '\n' | awk '
    { r = gsub(/[AILV]/, "&"); w = index(\$0, "W") > 0
      rewards = rewards sep (w ? "null" : r); valid = valid sep (w ? "false" : "true"); sep = ", " }
    END { printf "{\"rewards\": [%s], \"valid\": [%s]}\n", rewards, valid }'
done
EOF
cat >"$TMP/run.yaml" <<EOF
objective: external
command: sh $TMP/oracle.sh
external:
  fixed_len: 6
  optimum: 6
model: $TMP/m
budget: 32
batch: 8
K: 2
steps_per_round: 2
train_batch: 8
EOF
json_field() { "$POETS" report --json "$1" 2>/dev/null | grep -Eo "\"$2\":[^,}]+" | cut -d: -f2; }
for method in poets random; do
    if "$POETS" run "$TMP/run.yaml" --set method=$method --out "$TMP/$method.h5" --quiet >"$TMP/log" 2>&1 &&
        [ "$(json_field "$TMP/$method.h5" evaluations)" = 32 ] && [ "$(json_field "$TMP/$method.h5" complete)" = true ] &&
        "$POETS" report "$TMP/$method.h5" | grep -Eq "external +0 +32 +4 "; then
        ok "external_run_$method"
    else
        fail "external_run_$method" "$(cat "$TMP/log" | head -c 300) $("$POETS" report "$TMP/$method.h5" 2>&1 | head -c 300)"
    fi
done

# crash in round 3: one error line, the first two rounds kept, then a resume once the oracle is fixed
touch "$TMP/crash"
expect_error external_run_crash "^poets run: .*external oracle 'sh .*/oracle\.sh': exited with status 3 before replying$" \
    "$POETS" run "$TMP/run.yaml" --out "$TMP/crashed.h5" --quiet
if [ "$(json_field "$TMP/crashed.h5" evaluations)" = 16 ] && [ "$(json_field "$TMP/crashed.h5" rounds)" = 2 ] &&
    "$POETS" report "$TMP/crashed.h5" | grep -q '(incomplete: 16/32)'; then
    ok external_run_crash_kept
else
    fail external_run_crash_kept "$("$POETS" report "$TMP/crashed.h5" 2>&1 | head -c 400)"
fi
rm -f "$TMP/crash"
if "$POETS" run --resume "$TMP/crashed.h5" --quiet >"$TMP/log" 2>&1 && "$POETS" compare "$TMP/poets.h5" "$TMP/crashed.h5" >"$TMP/cmp" 2>&1; then
    ok external_run_resume
else
    fail external_run_resume "$(cat "$TMP/log" "$TMP/cmp" | head -c 400)"
fi

# the shipped example (experiments/external_example.yaml): its oracle is Python, so these checks
# are skipped where python3 is missing
if command -v python3 >/dev/null; then
    if printf 'IIII\nRRRRRR\nAXC\n' | "$POETS" score --objective external \
        --set command='python3 experiments/oracles/hydrophobicity.py' >"$TMP/out" 2>"$TMP/err" &&
        [ "$(cat "$TMP/out")" = "$(printf '4.5\n-4.5\ninvalid\tletter '"'X'"' at position 2 is not a standard amino acid')" ]; then
        ok external_example_score
    else
        fail external_example_score "$(cat "$TMP/out" "$TMP/err" | head -c 400)"
    fi
    if "$POETS" run experiments/external_example.yaml --set model="$TMP/m" --set budget=16 --set K=2 \
        --set steps_per_round=1 --out "$TMP/example.h5" --quiet >"$TMP/log" 2>&1 &&
        [ "$(json_field "$TMP/example.h5" evaluations)" = 16 ]; then
        ok external_example_run
    else
        fail external_example_run "$(head -c 400 "$TMP/log")"
    fi
else
    echo "skip external_example: python3 not found"
fi
finish
