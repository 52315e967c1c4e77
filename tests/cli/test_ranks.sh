#!/usr/bin/env bash
# `mpirun -np R poets run`: members sharded over ranks give the run file of one process (replay,
# bootstrap, trace and checkpoint, wall-clock columns aside) for R = 2 and for K = 4 on R = 3;
# every method; the oracle on every rank; resume with another R; a rank killed mid-run stops
# the others within 30 s and the run resumes to the uninterrupted result; an error is reported
# once, by rank 0.
cd "$(dirname "$0")/../.." || exit 1
source tests/cli/lib.sh

if ! command -v mpirun >/dev/null || [ "$("$POETS" --build-info 2>/dev/null | grep -c '^ranks: MPI')" -eq 0 ]; then
    echo "skip ranks: this build has no MPI (mpicc and mpirun come with scripts/install-deps.sh)"
    exit 0
fi
# ranks share the 2 cores of a CI machine: one thread each; root in containers is fine here
export OMP_NUM_THREADS=1 OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# Sanitizer builds: OpenMPI leaves thousands of start-up allocations in components it dlopens and
# unloads (unattributable, so no suppression can name them); leak checking is off for runs
# under mpirun only. Address and undefined-behaviour checks stay on; every loop path but the
# multi-rank exchanges is leak-checked by the single-process runs of the other tests.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
MPIRUN=(mpirun --oversubscribe)

tiny_model "$TMP/m" ranks_setup
SMALL=(--set model="$TMP/m" --set budget=32 --set batch=8 --set K=4 --set steps_per_round=2 --set train_batch=8)

# run NAME RANKS [ARGS...]: a small GB1 run into $TMP/NAME.h5 on RANKS ranks (1: no mpirun)
run() {
    local name=$1 ranks=$2
    shift 2
    local launch=()
    [ "$ranks" -gt 1 ] && launch=("${MPIRUN[@]}" -np "$ranks")
    "${launch[@]}" "$POETS" run experiments/gb1.yaml "${SMALL[@]}" "$@" --out "$TMP/$name.h5" --quiet \
        >"$TMP/$name.log" 2>&1 || { fail "ranks_$name" "run failed: $(tail -n 3 "$TMP/$name.log" | tr '\n' ' ')"; return 1; }
}
# same NAME A B: the two run files hold the same run
same() {
    if "$POETS" compare "$2" "$3" >"$TMP/cmp" 2>&1; then ok "$1"; else fail "$1" "$(head -c 400 "$TMP/cmp")"; fi
}
json_field() { "$POETS" report --json "$1" 2>/dev/null | grep -Eo "\"$2\":[^,}]+" | cut -d: -f2; }

run one 1 && run two 2 && same ranks_two_equal_one "$TMP/one.h5" "$TMP/two.h5"
run three 3 && same ranks_three_uneven_equal_one "$TMP/one.h5" "$TMP/three.h5"
run all1 1 --set oracle_ranks=all && run all2 2 --set oracle_ranks=all &&
    same ranks_oracle_on_all_ranks "$TMP/all1.h5" "$TMP/all2.h5"
for method in single prior random ga gp_ts; do
    k=4
    [ "$method" = single ] && k=1
    run "m1_$method" 1 --set method="$method" --set K=$k && run "m2_$method" 2 --set method="$method" --set K=$k &&
        same "ranks_method_$method" "$TMP/m1_$method.h5" "$TMP/m2_$method.h5"
done

# ---- resume with other rank counts: 2 ranks, then 3, then one process ----
if run part 2 --rounds 2 && "${MPIRUN[@]}" -np 3 "$POETS" run --resume "$TMP/part.h5" --rounds 1 --quiet >"$TMP/log" 2>&1 &&
    "$POETS" run --resume "$TMP/part.h5" --quiet >"$TMP/log" 2>&1; then
    same ranks_resume_other_counts "$TMP/one.h5" "$TMP/part.h5"
else
    fail ranks_resume_other_counts "$(head -c 400 "$TMP/log")"
fi

# ---- a rank killed mid-run: the others stop within 30 s; the run resumes ----
LONG=(--set budget=160 --set steps_per_round=16)
run long_ref 1 "${LONG[@]}"
"${MPIRUN[@]}" -np 2 "$POETS" run experiments/gb1.yaml "${SMALL[@]}" "${LONG[@]}" --out "$TMP/killed.h5" --quiet \
    >"$TMP/killed.log" 2>&1 &
launcher=$!
for _ in $(seq 3000); do # until a round is committed (up to ~60 s on a slow sanitizer build)
    [ "$(json_field "$TMP/killed.h5" rounds)" -ge 1 ] 2>/dev/null && break
    kill -0 "$launcher" 2>/dev/null || break
    sleep 0.02
done
victim=$(pgrep -P "$launcher" | tail -n 1)
start=$(date +%s)
if [ -z "$victim" ]; then
    fail ranks_killed_rank_stops_others "no rank process found under mpirun (pid $launcher)"
else
    kill -KILL "$victim"
    for _ in $(seq 300); do kill -0 "$launcher" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$launcher" 2>/dev/null; then
        kill -KILL "$launcher"
        fail ranks_killed_rank_stops_others "mpirun still running 30 s after rank pid $victim was killed"
    else
        wait "$launcher"
        status=$?
        elapsed=$(($(date +%s) - start))
        echo "# rank pid $victim killed: mpirun exited with $status after ${elapsed} s"
        if [ "$status" -ne 0 ] && [ "$(json_field "$TMP/killed.h5" complete)" = false ]; then
            ok ranks_killed_rank_stops_others
        else
            fail ranks_killed_rank_stops_others "status $status, complete $(json_field "$TMP/killed.h5" complete)"
        fi
    fi
fi
if "${MPIRUN[@]}" -np 2 "$POETS" run --resume "$TMP/killed.h5" --quiet >"$TMP/log" 2>&1; then
    same ranks_killed_then_resumed "$TMP/long_ref.h5" "$TMP/killed.h5"
else
    fail ranks_killed_then_resumed "resume failed: $(head -c 400 "$TMP/log")"
fi

# ---- an error is agreed by every rank and reported once, by rank 0 ----
"${MPIRUN[@]}" -np 2 "$POETS" run experiments/gb1.yaml "${SMALL[@]}" --set model="$TMP/absent" --out "$TMP/bad.h5" \
    >"$TMP/out" 2>"$TMP/err"
status=$?
lines=$(grep -c '^poets run:' "$TMP/err")
if [ "$status" -ne 0 ] && [ "$lines" -eq 1 ] && [ ! -e "$TMP/bad.h5" ]; then
    ok ranks_error_reported_once
else
    fail ranks_error_reported_once "status $status, $lines 'poets run:' lines: $(head -c 300 "$TMP/err")"
fi
finish
