#!/usr/bin/env python3
"""PyTorch on this machine, timed on the cases `swiftlet bench` times, to set Swiftlet beside it.

Not part of the build or the tests (it needs PyTorch). Prints one line per case: median and
minimum of the timed repetitions after warm-up, and GFLOP/s counted as the harness counts them.

    python3 Tools/pytorch_speed.py --threads 2                  # every case
    python3 Tools/pytorch_speed.py --only step --threads 1,2    # just the GPT-2 124M step

Cases (names as in the harness):
  matmul_fwd / matmul_bwd_dx / matmul_bwd_dw  F.linear and its two backward products on the
      GPT-2 shapes with 256 and 1,024 rows (x·Wᵀ, dout·W, doutᵀ·x), FLOPs 2·M·K·N.
  attention_fwd / attention_fwd_bwd  F.scaled_dot_product_attention(is_causal=True), B=1, H=12,
      hs=64, FLOPs 2·B·H·T²·hs forward and 2.5× that forward+backward.
  train_step_gpt2_124m  GPT-2 124M (nanoGPT's model from nanogpt_reference.py at GPT-2's size,
      vocabulary padded to 50,304, tied embeddings, biases, tanh GELU, no dropout): forward with
      the loss, backward, global-norm clipping, AdamW, gradients set to None; B=4, T=64 and 256.
"""
import argparse, os, statistics, sys, time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nanogpt_reference import GPT  # noqa: E402  (the same model the replay job uses)

GPT2_124M = dict(n_layer=12, n_head=12, n_embd=768, block_size=1024, bias=True, activation="gelu_tanh")
LINEAR_SHAPES = [(rows, c, oc) for rows in (256, 1024)
                 for c, oc in ((768, 2304), (768, 768), (768, 3072), (3072, 768), (768, 50304))]


def timed(run, repetitions, warmup):
    for _ in range(warmup):
        run()
    times = []
    for _ in range(repetitions):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times)


def report(name, variant, shape, threads, median, minimum, flops=None, tokens=None):
    rate = f"{flops / median / 1e9:9.1f} GFLOP/s" if flops else " " * 17
    per_s = f"{tokens / median:9.0f} tokens/s" if tokens else ""
    print(f"{name:22} {variant:8} {shape:16} {threads:3} {median * 1e3:10.2f} ms {minimum * 1e3:10.2f} ms {rate} {per_s}",
          flush=True)


def matmul_cases(threads, repetitions, warmup):
    for rows, c, oc in LINEAR_SHAPES:
        x, w = torch.randn(rows, c), torch.randn(oc, c) * 0.02
        dout = torch.randn(rows, oc)
        flops = 2.0 * rows * c * oc
        shape = f"{rows}x{c}x{oc}"
        for name, run in (("matmul_fwd", lambda: F.linear(x, w)),
                          ("matmul_bwd_dx", lambda: torch.mm(dout, w)),
                          ("matmul_bwd_dw", lambda: torch.mm(dout.t(), x))):
            report(name, "", shape, threads, *timed(run, repetitions, warmup), flops=flops)


def attention_cases(threads, repetitions, warmup, lengths):
    for t in lengths:
        q, k, v = (torch.randn(1, 12, t, 64, requires_grad=True) for _ in range(3))
        flops = 2.0 * 12 * t * t * 64
        shape = f"1,12,{t},64"

        def forward():
            with torch.no_grad():
                F.scaled_dot_product_attention(q, k, v, is_causal=True)

        def forward_backward():
            out = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            out.backward(torch.ones_like(out))
            q.grad = k.grad = v.grad = None

        report("attention_fwd", "sdpa", shape, threads, *timed(forward, repetitions, warmup), flops=flops)
        report("attention_fwd_bwd", "sdpa", shape, threads, *timed(forward_backward, repetitions, warmup),
               flops=2.5 * flops)


def step_cases(threads, repetitions, warmup):
    torch.manual_seed(1337)
    model = GPT(GPT2_124M, vocab_size=50304)
    parameters = list(model.parameters())
    # GPT-2's 124,439,808: the harness counts the 50,257-row vocabulary, not its padding.
    count = sum(p.numel() for p in parameters) - (50304 - 50257) * GPT2_124M["n_embd"]
    groups = [{"params": [p for p in parameters if p.dim() >= 2], "weight_decay": 0.1},
              {"params": [p for p in parameters if p.dim() < 2], "weight_decay": 0.0}]
    optimizer = torch.optim.AdamW(groups, lr=3e-4, betas=(0.9, 0.95))
    for b, t in ((4, 64), (4, 256)):
        idx = torch.randint(0, 50257, (b, t))
        targets = torch.randint(0, 50257, (b, t))

        def step():
            loss = model(idx, targets)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(parameters, 1.0)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)

        # The harness's count: 6·P per token, and 2.5 · 2·B·H·T²·hs per layer for attention.
        flops = 6.0 * count * b * t + 2.5 * 2 * GPT2_124M["n_layer"] * b * t * t * GPT2_124M["n_embd"]
        report("train_step_gpt2_124m", "torch", f"{b},{t}", threads, *timed(step, repetitions, warmup),
               flops=flops, tokens=b * t)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", default="2", help="thread counts, comma-separated")
    parser.add_argument("--only", default="matmul,attention,step", help="matmul, attention, step (comma-separated)")
    parser.add_argument("--seq", default="256,1024,4096", help="attention sequence lengths")
    parser.add_argument("--repetitions", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2)
    args = parser.parse_args()
    only = set(args.only.split(","))
    print(f"torch {torch.__version__}, {torch.backends.cpu.get_cpu_capability()}")
    for threads in (int(n) for n in args.threads.split(",")):
        torch.set_num_threads(threads)
        if "matmul" in only:
            matmul_cases(threads, args.repetitions, args.warmup)
        if "attention" in only:
            attention_cases(threads, args.repetitions, args.warmup, [int(t) for t in args.seq.split(",")])
        if "step" in only:
            step_cases(threads, args.repetitions, args.warmup)


if __name__ == "__main__":
    main()
