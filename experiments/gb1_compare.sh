#!/usr/bin/env bash
# GB1 evidence run: POETS against prior, random, single and gp_ts, budget 300, seeds 0-4, with
# the shipped model. Writes run files to runs/gb1-compare/ and the summary table (median and
# range over seeds of the best fitness found and of cumulative regret) to
# experiments/results/gb1_compare.md. Usage: experiments/gb1_compare.sh [SEEDS...]
set -eu
cd "$(dirname "$0")/.."
POETS=${POETS:-build/poets}
SEEDS=${*:-0 1 2 3 4}
METHODS=${METHODS:-poets single prior random gp_ts}
OUT=runs/gb1-compare
mkdir -p "$OUT" experiments/results
for seed in $SEEDS; do
    for method in $METHODS; do
        f="$OUT/$method-s$seed.h5"
        if [ -f "$f" ]; then
            "$POETS" run --resume "$f" --quiet
        else
            "$POETS" run experiments/gb1.yaml --set method="$method" --set seed="$seed" --out "$f" --quiet
        fi
        echo "done $method seed $seed" >&2
    done
done
files=()
for method in $METHODS; do for seed in $SEEDS; do files+=("$OUT/$method-s$seed.h5"); done; done
rm -f experiments/results/gb1_compare.svg  # this script owns its plot
"$POETS" report "${files[@]}" --svg experiments/results/gb1_compare.svg > "$OUT/report.txt"
"$POETS" report "${files[@]}" --json > "$OUT/report.jsonl"
{
    echo "# GB1: POETS against baselines (budget 300, batch 16, seeds: $SEEDS)"
    echo
    echo "Command: \`experiments/gb1_compare.sh\` ($(date -u +%Y-%m-%d), $(nproc) cores: $(lscpu | sed -n 's/^Model name: *//p'))."
    echo "Optimum f* = 8.762 (FWAA). Median [min, max] over seeds."
    echo
    echo "| method | best fitness found | cumulative regret | simple regret | train time (s, median) |"
    echo "|---|---|---|---|---|"
    for method in $METHODS; do
        grep "\"method\":\"$method\"" "$OUT/report.jsonl" | awk -v m="$method" '
            BEGIN { n = 0 }
            function field(name,   r) { r = $0; sub(".*\"" name "\":", "", r); sub(/[,}].*/, "", r); return r }
            { best[n] = field("best_value"); cum[n] = field("cum_regret"); sr[n] = field("simple_regret"); tt[n] = field("t_train"); n++ }
            function med(a, n,   i, j, t, b) { for (i = 0; i < n; i++) b[i] = a[i] + 0;
                for (i = 0; i < n; i++) for (j = i + 1; j < n; j++) if (b[j] < b[i]) { t = b[i]; b[i] = b[j]; b[j] = t }
                lo = b[0]; hi = b[n - 1]; return n % 2 ? b[int(n / 2)] : (b[n / 2 - 1] + b[n / 2]) / 2 }
            END { mb = med(best, n); l1 = lo; h1 = hi; mc = med(cum, n); l2 = lo; h2 = hi; ms = med(sr, n); l3 = lo; h3 = hi; mt = med(tt, n)
                  printf "| %s | %.3f [%.3f, %.3f] | %.1f [%.1f, %.1f] | %.3f [%.3f, %.3f] | %.0f |\n", m, mb, l1, h1, mc, l2, h2, ms, l3, h3, mt }'
    done
    echo
    echo "Per-run table (\`poets report\`):"
    echo
    echo '```'
    cat "$OUT/report.txt"
    echo '```'
} > experiments/results/gb1_compare.md
cat experiments/results/gb1_compare.md
