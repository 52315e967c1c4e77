# --device and the `device` key: cpu works and matches the default; an unknown device, and cuda
# where no GPU is usable (or in a build without CUDA), are one-line errors naming the reason.
# With a usable GPU the cuda cases run instead (tests/gpu/run.sh covers them in depth).
source tests/cli/lib.sh
MODEL=tests/fixtures/tiny-gpt2

"$POETS" sample --model $MODEL -n 4 --max-len 8 --seed 3 >"$TMP/default.txt" 2>&1
"$POETS" sample --model $MODEL -n 4 --max-len 8 --seed 3 --device cpu >"$TMP/cpu.txt" 2>&1
if cmp -s "$TMP/default.txt" "$TMP/cpu.txt"; then ok sample_device_cpu_is_default; else fail sample_device_cpu_is_default "outputs differ"; fi

expect_error sample_unknown_device "^poets sample: unknown device 'tpu' \(expected cpu or cuda\)$" \
    "$POETS" sample --model $MODEL --device tpu
expect_error logprob_unknown_device "^poets logprob: unknown device 'tpu'" \
    "$POETS" logprob --model $MODEL --device tpu
expect_error pretrain_unknown_device "^poets pretrain: unknown device 'tpu'" \
    "$POETS" pretrain --corpus data/pdb_chains.fasta.gz --out "$TMP/m" --device tpu

if "$POETS" sample --model $MODEL -n 2 --max-len 8 --device cuda >"$TMP/cuda.txt" 2>"$TMP/cuda.err"; then
    if [ "$(wc -l <"$TMP/cuda.txt")" -eq 2 ]; then ok sample_cuda; else fail sample_cuda "expected 2 lines"; fi
else
    expect_error sample_cuda_unavailable "^poets sample: cuda: " "$POETS" sample --model $MODEL --device cuda
    expect_error logprob_cuda_unavailable "^poets logprob: cuda: " "$POETS" logprob --model $MODEL --device cuda
    expect_error run_cuda_unavailable "^poets run: cuda: " "$POETS" run experiments/gb1.yaml --device cuda \
        --out "$TMP/cuda.h5"
    if [ -e "$TMP/cuda.h5" ]; then fail run_cuda_unavailable_writes_nothing "$TMP/cuda.h5 exists"; else ok run_cuda_unavailable_writes_nothing; fi
fi

cat >"$TMP/run.yaml" <<'YAML'
objective: gb1
device: tpu
YAML
expect_error run_device_key_checked "device.*(cpu|cuda)" "$POETS" run "$TMP/run.yaml" --out "$TMP/r.h5"
finish
