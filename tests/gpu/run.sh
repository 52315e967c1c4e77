#!/usr/bin/env bash
# The GPU checks, on one CUDA machine (one H200: a few minutes): build, the CUDA backend's unit
# test, CPU-vs-CUDA parity of every op and its backward on fresh random inputs and of the LoRA
# ensemble on the committed fixture (tests/gpu/parity.c), a CLI smoke test with --device cuda,
# then the benchmarks build/bench/lora_gemm and build/bench/round. Everything is recorded in
# bench/results/gpu-DATE-DEVICE.md; one summary table is printed last. Exit status 0 when every
# check passed. Without a GPU it says so and exits 0 (nothing to check).
#
#     bash tests/gpu/run.sh            (from anywhere; PARITY_SEED=N repeats a parity run)
set -u
cd "$(dirname "$0")/../.."
device=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -n 1)
if [ -z "$device" ]; then
    echo "tests/gpu/run.sh: skipped: no NVIDIA GPU visible (nvidia-smi lists none)"
    exit 0
fi
date_tag=$(date +%Y-%m-%d)
slug=$(echo "$device" | tr -c 'A-Za-z0-9\n' '-' | tr -s '-' | sed 's/-$//')
mkdir -p bench/results build
record="bench/results/gpu-$date_tag-$slug.md"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
export POETS_CUDA_MEMORY_MB=${POETS_CUDA_MEMORY_MB:-16384} # a bounded plan: quick start-up, room for the benches
summary=()
failed=0

{
    echo "# GPU checks: $device, $date_tag"
    echo
    echo "Commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo ' (with local changes)');"
    echo "driver $(nvidia-smi --query-gpu=driver_version --format=csv,noheader | head -n 1);"
    echo "command: bash tests/gpu/run.sh"
} >"$record"

# step NAME TIMEOUT_S COMMAND...: runs the command, appends its output to the record, and
# keeps one summary row (the last line of output as the detail).
step() {
    local name=$1 limit=$2
    shift 2
    local t0=$SECONDS
    timeout "$limit" "$@" >"$log" 2>&1
    local rc=$?
    local secs=$((SECONDS - t0)) verdict=ok
    [ "$rc" -eq 124 ] && verdict="timeout ${limit}s"
    [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && verdict="FAIL ($rc)"
    [ "$verdict" = ok ] || failed=1
    {
        echo
        echo "## $name ($verdict, ${secs}s)"
        echo
        echo '```'
        echo "\$ $*"
        cat "$log"
        echo '```'
    } >>"$record"
    [ "$verdict" = ok ] || tail -n 30 "$log"
    summary+=("$(printf '%-26s %-12s %5ss  %s' "$name" "$verdict" "$secs" "$(tail -n 1 "$log" | cut -c1-70)")")
}

step build 420 bash -c 'make -j"$(nproc)" all bench build/tests/test_cuda_backend && echo "built (sm_90)"'
step unit 120 build/tests/test_cuda_backend
step parity 300 build/gpu/parity ${PARITY_SEED:+--seed "$PARITY_SEED"}
step "sample --device cuda" 60 bash -c 'build/poets sample --model tests/fixtures/tiny-gpt2 -n 8 --max-len 16 \
    --device cuda | wc -l | grep -qx 8 && echo "8 samples"'
step "logprob cpu vs cuda" 60 bash -c 'printf "hello\nworld\n" >build/lp.txt &&
    build/poets logprob --model tests/fixtures/tiny-gpt2 <build/lp.txt >build/lp_cpu.txt &&
    build/poets logprob --model tests/fixtures/tiny-gpt2 --device cuda <build/lp.txt >build/lp_cuda.txt &&
    paste build/lp_cpu.txt build/lp_cuda.txt | awk "{d=\$1-\$2; if (d<0) d=-d; r=d/(\$1<0?-\$1:\$1);
        if (r>m) m=r} END {printf \"max relative difference %.2e (bf16 backbone)\\n\", m; exit !(m<1e-2)}"'
# bench/README.md describes both; their tables go into the record
for bench in "lora_gemm" "round --device cuda"; do
    if [ -x "build/bench/${bench%% *}" ]; then
        step "bench $bench" 240 build/bench/$bench
    else
        summary+=("$(printf '%-26s %-12s %5s   %s' "bench ${bench%% *}" "missing" "-" "not built")")
        failed=1
    fi
done

{
    echo
    echo "## Summary"
    echo
    echo '```'
    printf '%s\n' "${summary[@]}"
    echo '```'
} >>"$record"
echo
echo "GPU checks on $device ($date_tag); full output in $record"
printf '%-26s %-12s %6s  %s\n' check result time detail
printf '%s\n' "${summary[@]}"
exit "$failed"
