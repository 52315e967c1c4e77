#!/usr/bin/env bash
# Round time of POETS on GB1 with K members on R = 1 and R = 2 ranks (CPU), the bytes that cross
# ranks per round and the share of the run spent inside communication calls (waiting for the
# slower rank included). Both runs get the same cores: R = 1 runs T threads, R = 2 runs T/2
# threads per rank. The run files of the two are identical (checked at the end).
#   bench/ranks.sh [--rounds N] [--members K] [--model DIR] [--threads T]
set -eu
cd "$(dirname "$0")/.."
rounds=4 members=8 model=models/protein-small threads=$(nproc)
while [ $# -gt 0 ]; do
    case "$1" in
    --rounds) rounds=$2; shift 2 ;;
    --members) members=$2; shift 2 ;;
    --model) model=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    *) echo "usage: bench/ranks.sh [--rounds N] [--members K] [--model DIR] [--threads T]" >&2; exit 2 ;;
    esac
done
command -v mpirun >/dev/null || { echo "bench/ranks.sh: mpirun not found (scripts/install-deps.sh installs OpenMPI)" >&2; exit 2; }
[ -x build/poets ] || make -j"$(nproc)" build/poets >/dev/null
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
batch=16
args=(experiments/gb1.yaml --set model="$model" --set K="$members" --set batch=$batch --set budget=$((batch * rounds)))
field() { build/poets report --json "$1" | grep -Eo "\"$2\":[^,}]+" | cut -d: -f2; }

printf '%-6s %-14s %-12s %-10s %-16s %-12s\n' ranks "threads/rank" "s/round" "vs R=1" "bytes/round" "in comm"
base=""
for R in 1 2; do
    t=$((threads / R))
    [ "$t" -ge 1 ] || t=1
    if [ "$R" -eq 1 ]; then
        OMP_NUM_THREADS=$t build/poets run "${args[@]}" --out "$tmp/r$R.h5" 2>"$tmp/log$R"
    else
        OMP_NUM_THREADS=$t mpirun --oversubscribe --bind-to none -np "$R" build/poets run "${args[@]}" --out "$tmp/r$R.h5" 2>"$tmp/log$R"
    fi
    secs=$(awk -v g="$(field "$tmp/r$R.h5" t_generate)" -v e="$(field "$tmp/r$R.h5" t_evaluate)" \
        -v tr="$(field "$tmp/r$R.h5" t_train)" -v n="$(field "$tmp/r$R.h5" rounds)" 'BEGIN { printf "%.3f", (g + e + tr) / n }')
    [ -n "$base" ] || base=$secs
    bytes=- comm=-
    if [ "$R" -gt 1 ]; then
        line=$(grep '^ranks ' "$tmp/log$R")
        bytes=$(echo "$line" | sed -E 's/.*\(([0-9]+) per round\).*/\1/')
        comm=$(echo "$line" | sed -E 's/.*\(([0-9.]+) %\) inside.*/\1 %/')
    fi
    printf '%-6s %-14s %-12s %-10s %-16s %-12s\n' "$R" "$t" "$secs" "$(awk -v a="$base" -v b="$secs" 'BEGIN { printf "%.2f", a / b }')" "$bytes" "$comm"
done
if build/poets compare "$tmp/r1.h5" "$tmp/r2.h5" >/dev/null; then
    echo "run files of R = 1 and R = 2: identical (wall-clock columns aside)"
else
    echo "run files of R = 1 and R = 2 DIFFER" >&2
    exit 1
fi
