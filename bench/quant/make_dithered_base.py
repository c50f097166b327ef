#!/usr/bin/env python3
"""Builds the accuracy base for the KL tables of bench/RESULTS.md: Gemma 3 270M without any
format's head start.

The only real model here (gemma-3-270m-q4_k_m.gguf) is itself quantized: its attn_output and half
of its ffn_down tensors are Q4_K, and re-quantizing a Q4_K tensor to Q4_K is lossless by
construction. So every tensor stored below 6 bits gets a subtractive-style dither sized to its
OWN grid: element i of a block with grid step s gets w_i + u_i, u_i ~ Uniform(-s/2, s/2) (seeded),
where s is the block's step as stored in the GGUF (Q4_K: d * scale of the 32-element sub-block;
Q5_0: d). If the original full-precision weight was rounded to the nearest grid point, its
rounding error was in exactly that interval, so the dithered tensor is statistically like the
full-precision tensor the GGUF came from, and no grid lines up with it. Tensors stored at 6-8 bits
(Q6_K ffn_down, Q8_0 attn_v and token_embd) and the 1-D norms are kept as decoded.

  make_dithered_base.py MODEL.gguf HF_DIR OUT_DIR [--seed 1]

HF_DIR is a Hugging Face checkpoint of the same GGUF (transformers' GGUF loader, f32; its
config.json and tokenizer files are copied); every matrix of HF_DIR is checked to equal the GGUF's
decoding before it is dithered. OUT_DIR gets the f32 checkpoint, for `quanta convert OUT_DIR
--type f32`.
"""
import argparse
import json
import os
import re
import shutil

import numpy as np
from gguf import GGUFReader
from gguf import GGMLQuantizationType as T
from gguf import quants
from safetensors.numpy import load_file, save_file

HF_NAMES = {
    "attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj", "attn_v": "self_attn.v_proj",
    "attn_output": "self_attn.o_proj", "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj",
    "ffn_down": "mlp.down_proj",
}


def hf_name(gguf_name: str):
    if gguf_name == "token_embd.weight":
        return "model.embed_tokens.weight"
    m = re.match(r"blk\.(\d+)\.(\w+)\.weight$", gguf_name)
    if m and m.group(2) in HF_NAMES:
        return f"model.layers.{m.group(1)}.{HF_NAMES[m.group(2)]}.weight"
    return None


def steps_q4_k(raw: np.ndarray) -> np.ndarray:
    """Per-element grid step d * sc_j of Q4_K blocks (144 bytes: d, dmin, scales[12], qs[128])."""
    b = raw.reshape(-1, 144)
    d = b[:, 0:2].copy().view(np.float16).astype(np.float32)[:, 0]
    q = b[:, 4:16].astype(np.int32)
    sc = np.empty((b.shape[0], 8), np.int32)
    for j in range(8):
        sc[:, j] = (q[:, j] & 63) if j < 4 else ((q[:, j + 4] & 0xF) | ((q[:, j - 4] >> 6) << 4))
    return np.repeat(d[:, None] * sc, 32, axis=1).reshape(-1)


def steps_q5_0(raw: np.ndarray) -> np.ndarray:
    b = raw.reshape(-1, 22)
    d = b[:, 0:2].copy().view(np.float16).astype(np.float32)[:, 0]
    return np.repeat(d, 32)


STEPS = {T.Q4_K: steps_q4_k, T.Q5_0: steps_q5_0}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("gguf")
    ap.add_argument("hf_dir")
    ap.add_argument("out_dir")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    r = GGUFReader(args.gguf)
    hf = load_file(os.path.join(args.hf_dir, "model.safetensors"))
    os.makedirs(args.out_dir, exist_ok=True)
    n_dithered = 0
    rel = []
    for t in r.tensors:
        name = hf_name(t.name)
        if name is None:
            continue
        w = hf[name]
        dec = quants.dequantize(np.asarray(t.data), t.tensor_type).reshape(w.shape).astype(np.float32)
        if not np.array_equal(dec, w):
            raise SystemExit(f"{t.name}: the HF checkpoint differs from the GGUF's decoding; refusing to dither")
        if t.tensor_type not in STEPS:
            continue
        step = STEPS[t.tensor_type](np.asarray(t.data).view(np.uint8)).reshape(w.shape)
        noise = (rng.random(w.shape, dtype=np.float32) - 0.5) * step
        hf[name] = (w + noise).astype(np.float32)
        n_dithered += 1
        rel.append(float(np.sqrt((noise.astype(np.float64) ** 2).sum() / (w.astype(np.float64) ** 2).sum())))
        print(f"{t.name} {t.tensor_type.name} {list(w.shape)} dither rms / weight rms = {rel[-1]:.4f}")
    save_file(hf, os.path.join(args.out_dir, "model.safetensors"))
    for f in os.listdir(args.hf_dir):
        if f != "model.safetensors":
            shutil.copy(os.path.join(args.hf_dir, f), os.path.join(args.out_dir, f))
    print(f"{n_dithered} tensors dithered (mean relative dither {np.mean(rel):.4f}); written to {args.out_dir}")
    with open(os.path.join(args.out_dir, "dither.json"), "w") as f:
        json.dump({"source": os.path.basename(args.gguf), "seed": args.seed, "tensors_dithered": n_dithered}, f)


if __name__ == "__main__":
    main()
