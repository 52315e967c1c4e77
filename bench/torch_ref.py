#!/usr/bin/env python3
"""bench/torch_ref.py: the PyTorch + PEFT counterpart of bench/round (for the "POETS step >= 3x
faster than a PEFT loop" comparison). Same model shape (GPT-2 architecture, random weights, bf16
backbone), same LoRA targets (c_attn, attn.c_proj, mlp.c_fc, mlp.c_proj), rank and alpha, same
tokens per step, same loss (implicit-reward regression on each sequence's summed log-probability
plus a per-token KL to a fixed reference distribution), one AdamW step per adapter. The natural
PEFT way to train K adapters: K named adapters on one model, switched with set_adapter, each
member's minibatch run through its own forward/backward in turn.

Prints the median time per step (after one warm-up step) and torch.cuda.max_memory_allocated,
for K = 1 and K = --members. Needs torch, transformers and peft and a CUDA device; not run by the
test suite.
"""
import argparse
import statistics
import time

import torch
from peft import LoraConfig, get_peft_model
from transformers import GPT2Config, GPT2LMHeadModel


def build(args, K):
    cfg = GPT2Config(vocab_size=args.vocab, n_positions=max(1024, args.seq_len), n_embd=args.width,
                     n_layer=args.layers, n_head=args.heads or args.width // 64, n_inner=4 * args.width,
                     activation_function="gelu_new", resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0)
    torch.manual_seed(1)
    base = GPT2LMHeadModel(cfg).to("cuda", dtype=torch.bfloat16)
    lora = LoraConfig(r=args.rank, lora_alpha=2 * args.rank, lora_dropout=0.0, fan_in_fan_out=True,
                      target_modules=["c_attn", "c_proj", "c_fc"])  # c_proj: attn.c_proj and mlp.c_proj
    model = get_peft_model(base, lora, adapter_name="m0")
    for k in range(1, K):
        model.add_adapter(f"m{k}", lora)
    opts = []
    for k in range(K):
        params = [p for n, p in model.named_parameters() if f".lora_A.m{k}." in n or f".lora_B.m{k}." in n]
        opts.append(torch.optim.AdamW(params, lr=1e-4, weight_decay=0.01))
    return model, opts


def member_step(model, opt, tokens, ref_logp, row_target, beta=0.1, kl_coef=0.05):
    logits = model(input_ids=tokens).logits[:, :-1].float()  # position t predicts token t+1
    logp_all = torch.log_softmax(logits, dim=-1)
    logp_tok = logp_all.gather(-1, tokens[:, 1:, None]).squeeze(-1)
    fit = ((beta * logp_tok.sum(1) - row_target) ** 2).mean()
    kl = (logp_all.exp() * (logp_all - ref_logp)).sum(-1).mean()
    loss = fit + kl_coef * kl
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return loss.detach()


def run(args, K):
    model, opts = build(args, K)
    g = torch.Generator(device="cuda").manual_seed(11)
    S, T, V = args.seqs, args.seq_len, args.vocab
    tokens = [torch.randint(0, V, (S, T), device="cuda", generator=g) for _ in range(K)]
    targets = [2 * torch.rand(S, device="cuda", generator=g) - 1 for _ in range(K)]
    ref_logp = torch.full((S, T - 1, V), -torch.log(torch.tensor(float(V))).item(), device="cuda")
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    times = []
    for step in range(args.steps + 1):  # the first is the warm-up
        t0 = time.perf_counter()
        for k in range(K):
            model.set_adapter(f"m{k}")
            member_step(model, opts[k], tokens[k], ref_logp, targets[k])
        torch.cuda.synchronize()
        if step:
            times.append(time.perf_counter() - t0)
    peak = torch.cuda.max_memory_allocated() / 2**20
    del model, opts
    torch.cuda.empty_cache()
    return 1e3 * statistics.median(times), peak


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--members", type=int, default=8)
    ap.add_argument("--layers", type=int, default=36)
    ap.add_argument("--width", type=int, default=1280)
    ap.add_argument("--heads", type=int, default=0, help="0: width/64")
    ap.add_argument("--vocab", type=int, default=50257)
    ap.add_argument("--seqs", type=int, default=8, help="sequences per member per step")
    ap.add_argument("--seq-len", type=int, default=128)
    ap.add_argument("--rank", type=int, default=16)
    ap.add_argument("--steps", type=int, default=5)
    args = ap.parse_args()
    print(f"# torch_ref: {torch.cuda.get_device_name()}, torch {torch.__version__}, L={args.layers} "
          f"E={args.width} V={args.vocab}, rank {args.rank}, {args.seqs} sequences x {args.seq_len} tokens "
          f"per member, median of {args.steps} steps\n")
    print("| K | tokens/step | ms/step | ms per member | tokens/s | peak MB (max_memory_allocated) |")
    print("|---:|---:|---:|---:|---:|---:|")
    for K in sorted({1, args.members}):
        ms, peak = run(args, K)
        tok = K * args.seqs * args.seq_len
        print(f"| {K} | {tok} | {ms:.1f} | {ms / K:.1f} | {tok / (ms / 1e3):.0f} | {peak:.0f} |", flush=True)


if __name__ == "__main__":
    main()
