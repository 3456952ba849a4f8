#!/usr/bin/env python3
"""nanoGPT's character-level Shakespeare recipe in PyTorch, to hold Swiftlet's training against.

Not part of the build or the tests (it needs PyTorch). Two jobs:

  nanogpt  Train nanoGPT's model with nanoGPT's loop and PyTorch's own random numbers, as
           `python train.py config/train_shakespeare_char.py --device=cpu ...` would, and print
           the val loss nanoGPT reports (eval_iters random batches) and the loss on the whole
           val split. Run several seeds to see the spread of the recipe itself.

               python3 Tools/nanogpt_reference.py nanogpt --seed 1337

  replay   Train the same model in PyTorch from a Swiftlet run's initial weights on the exact
           batches the Swiftlet run drew (its xoshiro256** sampler, re-implemented here), and
           compare the per-step losses with the run's metrics.jsonl. Equal implementations
           agree to float32 rounding for the whole run.

               swiftlet train --preset tiny --out runs/tiny
               swiftlet train --preset tiny --steps 0 --out runs/tiny-init
               python3 Tools/nanogpt_reference.py replay runs/tiny --init runs/tiny-init/last.safetensors

The model and loop are written from nanoGPT's description (model.py, train.py): pre-norm blocks,
learned positions, tied embeddings, GPT-2 init with scaled residual projections, AdamW with
decay on >= 2-D tensors only, global-norm clipping, warmup + cosine schedule.
"""
import argparse, json, math, os, struct, sys, time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TEXT = os.path.join(ROOT, "Sources", "Swiftlet", "Resources", "tinyshakespeare.txt")

# nanoGPT's CPU recipe (README, "I only have a macbook"), also Swiftlet's `--preset tiny`. Biases
# are on, as in GPT-2 and nanoGPT's model.py default; nanoGPT's train.py turns them off (`--no-bias`).
RECIPE = dict(n_layer=4, n_head=4, n_embd=128, block_size=64, bias=True, activation="gelu_erf",
              batch_size=12, steps=2000, lr=1e-3, min_lr=1e-4, warmup=100, decay_steps=2000,
              weight_decay=0.1, beta1=0.9, beta2=0.99, grad_clip=1.0, eval_interval=250, eval_iters=20)


# ----------------------------------------------------------------------------- model

class SelfAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.n_head, self.n_embd = c["n_head"], c["n_embd"]
        self.c_attn = nn.Linear(self.n_embd, 3 * self.n_embd, bias=c["bias"])
        self.c_proj = nn.Linear(self.n_embd, self.n_embd, bias=c["bias"])

    def forward(self, x):
        b, t, c = x.shape
        q, k, v = self.c_attn(x).split(c, dim=2)
        q, k, v = (z.view(b, t, self.n_head, c // self.n_head).transpose(1, 2) for z in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.c_proj(y.transpose(1, 2).contiguous().view(b, t, c))


class MLP(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.approximate = "tanh" if c["activation"] == "gelu_tanh" else "none"
        self.c_fc = nn.Linear(c["n_embd"], 4 * c["n_embd"], bias=c["bias"])
        self.c_proj = nn.Linear(4 * c["n_embd"], c["n_embd"], bias=c["bias"])

    def forward(self, x):
        return self.c_proj(F.gelu(self.c_fc(x), approximate=self.approximate))


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.ln_1, self.attn = nn.LayerNorm(c["n_embd"], bias=c["bias"]), SelfAttention(c)
        self.ln_2, self.mlp = nn.LayerNorm(c["n_embd"], bias=c["bias"]), MLP(c)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    def __init__(self, c, vocab_size):
        super().__init__()
        self.vocab_size = vocab_size
        self.transformer = nn.ModuleDict(dict(
            wte=nn.Embedding(vocab_size, c["n_embd"]), wpe=nn.Embedding(c["block_size"], c["n_embd"]),
            h=nn.ModuleList(Block(c) for _ in range(c["n_layer"])), ln_f=nn.LayerNorm(c["n_embd"], bias=c["bias"])))
        self.lm_head = nn.Linear(c["n_embd"], vocab_size, bias=False)
        self.transformer.wte.weight = self.lm_head.weight
        for module in self.modules():
            if isinstance(module, (nn.Linear, nn.Embedding)):
                nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if isinstance(module, nn.Linear) and module.bias is not None:
                nn.init.zeros_(module.bias)
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):  # residual projections, scaled by depth (GPT-2)
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * c["n_layer"]))

    def forward(self, idx, targets):
        t = self.transformer
        x = t.wte(idx) + t.wpe(torch.arange(idx.shape[1]))
        for block in t.h:
            x = block(x)
        logits = self.lm_head(t.ln_f(x))
        return F.cross_entropy(logits.view(-1, self.vocab_size), targets.view(-1))


def make_optimizer(model, c):
    params = list(model.parameters())
    groups = [{"params": [p for p in params if p.dim() >= 2], "weight_decay": c["weight_decay"]},
              {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=c["lr"], betas=(c["beta1"], c["beta2"]))


def learning_rate(step, c):
    if step < c["warmup"]:
        return c["lr"] * (step + 1) / (c["warmup"] + 1)
    if step > c["decay_steps"]:
        return c["min_lr"]
    ratio = (step - c["warmup"]) / (c["decay_steps"] - c["warmup"])
    return c["min_lr"] + 0.5 * (1.0 + math.cos(math.pi * ratio)) * (c["lr"] - c["min_lr"])


def train_step(model, optimizer, batch, step, c):
    for group in optimizer.param_groups:
        group["lr"] = learning_rate(step, c)
    loss = model(*batch)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), c["grad_clip"])
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return loss.item()


# ----------------------------------------------------------------------------- data

def load_splits(characters=None):
    text = open(TEXT, encoding="utf-8").read()
    characters = characters or "".join(sorted(set(text)))
    index = {ch: i for i, ch in enumerate(characters)}
    tokens = np.array([index[ch] for ch in text], dtype=np.int64)
    n = int(len(tokens) * 0.9)
    return tokens[:n], tokens[n:], len(characters)


def windows(data, starts, t):
    x = torch.stack([torch.from_numpy(data[i:i + t]) for i in starts])
    y = torch.stack([torch.from_numpy(data[i + 1:i + 1 + t]) for i in starts])
    return x, y


@torch.no_grad()
def whole_split_loss(model, data, t, rows=12):
    """Mean loss over consecutive full windows of t tokens (`swiftlet eval` also counts the short tail)."""
    model.eval()
    starts = list(range(0, len(data) - 1 - t + 1, t))  # full windows; the short tail is dropped
    total = 0.0
    for i in range(0, len(starts), rows):
        chunk = starts[i:i + rows]
        total += model(*windows(data, chunk, t)).item() * len(chunk)
    model.train()
    return total / len(starts)


class SwiftletSampler:
    """Swiftlet's `RandomGenerator` (xoshiro256** seeded by SplitMix64) and its unbiased
    `next(upperBound:)`, so the replay draws the batch starts the Swiftlet run drew."""
    MASK = (1 << 64) - 1

    def __init__(self, seed):
        mixer, self.state = seed, []
        for _ in range(4):
            mixer = (mixer + 0x9E3779B97F4A7C15) & self.MASK
            z = mixer
            z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & self.MASK
            z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & self.MASK
            self.state.append(z ^ (z >> 31))

    def next(self):
        s0, s1, s2, s3 = self.state
        rotate = lambda x, k: ((x << k) | (x >> (64 - k))) & self.MASK
        result = (rotate((s1 * 5) & self.MASK, 7) * 9) & self.MASK
        t = (s1 << 17) & self.MASK
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3; s2 ^= t
        self.state = [s0, s1, s2, rotate(s3, 45)]
        return result

    def below(self, bound):
        product = self.next() * bound
        if product & self.MASK < bound:
            threshold = ((1 << 64) - bound) % bound
            while product & self.MASK < threshold:
                product = self.next() * bound
        return product >> 64


# ----------------------------------------------------------------------------- safetensors

def read_safetensors(path):
    blob = open(path, "rb").read()
    size = struct.unpack("<Q", blob[:8])[0]
    header = json.loads(blob[8:8 + size])
    metadata = header.pop("__metadata__", {})
    tensors = {}
    for name, entry in header.items():
        assert entry["dtype"] == "F32", f"{name}: expected F32, got {entry['dtype']}"
        start, end = entry["data_offsets"]
        data = np.frombuffer(blob[8 + size + start:8 + size + end], dtype=np.float32).copy()
        tensors[name] = torch.from_numpy(data).view(entry["shape"])
    return tensors, metadata


# ----------------------------------------------------------------------------- jobs

def run_nanogpt(seed):
    c = RECIPE
    torch.manual_seed(seed)
    train, val, vocab = load_splits()
    model = GPT(c, vocab)
    optimizer = make_optimizer(model, c)
    t = c["block_size"]
    batch = lambda data: windows(data, torch.randint(len(data) - t, (c["batch_size"],)).tolist(), t)

    @torch.no_grad()
    def estimate(data):
        model.eval()
        loss = sum(model(*batch(data)).item() for _ in range(c["eval_iters"])) / c["eval_iters"]
        model.train()
        return loss

    started = time.time()
    for step in range(c["steps"] + 1):
        if step % c["eval_interval"] == 0 or step == c["steps"]:
            print(f"step {step}: train loss {estimate(train):.4f}, val loss {estimate(val):.4f}", flush=True)
        if step == c["steps"]:
            break
        train_step(model, optimizer, batch(train), step, c)
    seconds = time.time() - started
    print(f"seed {seed}: whole val split {whole_split_loss(model, val, t):.4f}, {seconds:.0f} s")


def run_replay(run_dir, init_path):
    c = json.load(open(os.path.join(run_dir, "config.json")))
    expected = dict(data="shakespeare", tokenizer="char", norm="pre", position="learned", tie_embeddings=True,
                    dropout=0, grad_accum=1)
    wrong = [f"{k}={c.get(k)!r} (needs {v!r})" for k, v in expected.items() if c.get(k) != v]
    if wrong or c["mlp_hidden"] != 4 * c["n_embd"] or c["activation"] == "relu":
        sys.exit("replay covers nanoGPT's architecture and the bundled text only: " + ", ".join(wrong or ["mlp/activation"]))
    weights, metadata = read_safetensors(init_path)
    if json.loads(metadata["config"])["n_embd"] != c["n_embd"]:
        sys.exit(f"{init_path} is not this run's configuration")
    characters = json.loads(metadata["tokenizer"])["characters"]
    train, val, vocab = load_splits(characters)

    torch.manual_seed(0)
    model = GPT(c, vocab)
    with torch.no_grad():
        for name, p in model.named_parameters():
            key = "transformer.wte.weight" if name == "lm_head.weight" else name
            p.copy_(weights[key])
    optimizer = make_optimizer(model, c)
    sampler = SwiftletSampler(c["seed"] + 1)  # TrainingRun seeds the train sampler with seed + 1
    t, rows = c["block_size"], c["batch_size"]

    swiftlet = {r["step"]: r["loss"] for r in map(json.loads, open(os.path.join(run_dir, "metrics.jsonl"))) if "loss" in r}
    worst = 0.0
    for step in range(c["steps"]):
        starts = [sampler.below(len(train) - t) for _ in range(rows)]
        loss = train_step(model, optimizer, windows(train, starts, t), step, c)
        difference = abs(loss - swiftlet[step + 1])
        worst = max(worst, difference)
        if step < 3 or (step + 1) % c["eval_interval"] == 0:
            print(f"step {step + 1}: PyTorch {loss:.6f}  Swiftlet {swiftlet[step + 1]:.6f}  |Δ| {difference:.1e}", flush=True)
    print(f"largest per-step |Δloss| over {c['steps']} steps: {worst:.1e}")
    print(f"PyTorch replay, whole val split: {whole_split_loss(model, val, t):.4f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    jobs = parser.add_subparsers(dest="job", required=True)
    nanogpt = jobs.add_parser("nanogpt", help="nanoGPT's recipe with PyTorch's random numbers")
    nanogpt.add_argument("--seed", type=int, default=1337)
    nanogpt.add_argument("--bias", action=argparse.BooleanOptionalAction, default=RECIPE["bias"],
                         help="biases in Linear and LayerNorm layers (default: on, as --preset tiny)")
    replay = jobs.add_parser("replay", help="replay a Swiftlet run in PyTorch")
    replay.add_argument("run", help="the run's output directory (config.json, metrics.jsonl)")
    replay.add_argument("--init", required=True, help="last.safetensors of `swiftlet train --steps 0` with the same settings")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.job == "nanogpt":
        RECIPE["bias"] = args.bias
        run_nanogpt(args.seed)
    else:
        run_replay(args.run, args.init)


if __name__ == "__main__":
    main()
