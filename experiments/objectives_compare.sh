#!/usr/bin/env bash
# Full-budget comparison on the objectives of issue 4: POETS against prior, single and ga
# (ga only where candidates have a fixed length), seeds 0-2, each experiment config as shipped.
# Run files go to runs/objectives/; the table (median [min, max] over seeds of the best value and
# of cumulative regret) to experiments/results/objectives_compare.md.
# Usage: experiments/objectives_compare.sh [CONFIG...]   (default: every objective config)
set -eu
cd "$(dirname "$0")/.."
POETS=${POETS:-build/poets}
CONFIGS=${*:-instability ehrlich_small ehrlich_aa h2 tfim artificial}
SEEDS=${SEEDS:-0 1 2}
OUT=runs/objectives
mkdir -p "$OUT" experiments/results
files=()
for cfg in $CONFIGS; do
    methods="poets prior single"
    grep -q '^objective: \(ehrlich\|gb1\)' "experiments/$cfg.yaml" && methods="$methods ga"
    for method in $methods; do
        for seed in $SEEDS; do
            f="$OUT/$cfg-$method-s$seed.h5"
            if [ -f "$f" ]; then "$POETS" run --resume "$f" --quiet
            else "$POETS" run "experiments/$cfg.yaml" --set method="$method" --set seed="$seed" --out "$f" --quiet; fi
            files+=("$f")
            echo "done $cfg $method seed $seed" >&2
        done
    done
done
{
    echo "# Objectives: POETS against prior, single and ga (seeds: $SEEDS)"
    echo
    echo "Command: \`experiments/objectives_compare.sh\` ($(date -u +%Y-%m-%d), $(nproc) cores)."
    echo
    echo '```'
    "$POETS" report "${files[@]}"
    echo '```'
} > experiments/results/objectives_compare.md
cat experiments/results/objectives_compare.md
