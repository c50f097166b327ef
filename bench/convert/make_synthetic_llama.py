"""Writes a synthetic Llama-shaped Hugging Face checkpoint for conversion benchmarks: the shapes of
Llama 3.2 1B (n_embd 2048, 16 layers, n_ff 8192, 32 heads, 8 KV heads, vocab 128256, tied
embeddings: 1.24 B parameters), random bf16 weights (N(0, 0.02), norms 1), two safetensors shards
plus model.safetensors.index.json, config.json, and the tokenizer of tests/fixtures/models/llama3
(a 512-piece stand-in: the benchmark measures weight conversion, the model is not meant to run).
Streams one tensor at a time, so it needs little memory. Not committed data: write it to /tmp.

usage: make_synthetic_llama.py OUT_DIR [--layers N]
"""
import argparse
import json
import os
import shutil
import struct

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURE = os.path.join(HERE, "..", "..", "tests", "fixtures", "models", "llama3")


def tensors(cfg):
    """(name, row-major shape, kind) in checkpoint order."""
    e, f, v = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
    hd = e // cfg["num_attention_heads"]
    kv = hd * cfg["num_key_value_heads"]
    yield "model.embed_tokens.weight", (v, e), "w"
    for il in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{il}."
        yield p + "input_layernorm.weight", (e,), "norm"
        yield p + "self_attn.q_proj.weight", (e, e), "w"
        yield p + "self_attn.k_proj.weight", (kv, e), "w"
        yield p + "self_attn.v_proj.weight", (kv, e), "w"
        yield p + "self_attn.o_proj.weight", (e, e), "w"
        yield p + "post_attention_layernorm.weight", (e,), "norm"
        yield p + "mlp.gate_proj.weight", (f, e), "w"
        yield p + "mlp.up_proj.weight", (f, e), "w"
        yield p + "mlp.down_proj.weight", (e, f), "w"
    yield "model.norm.weight", (e,), "norm"


def bf16_bytes(shape, kind, rng):
    if kind == "norm":
        x = np.ones(shape, dtype=np.float32)
    else:
        x = rng.standard_normal(shape, dtype=np.float32) * np.float32(0.02)
    u = x.view(np.uint32)
    u = (u + 0x7FFF + ((u >> 16) & 1)) >> 16  # round to nearest even
    return u.astype(np.uint16).tobytes()


def write_shard(path, items, rng):
    header, off = {}, 0
    for name, shape, kind in items:
        n = int(np.prod(shape)) * 2
        header[name] = {"dtype": "BF16", "shape": list(shape), "data_offsets": [off, off + n]}
        off += n
    header["__metadata__"] = {"format": "pt"}
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as fh:
        fh.write(struct.pack("<Q", len(h)))
        fh.write(h)
        for name, shape, kind in items:
            fh.write(bf16_bytes(shape, kind, rng))
    return off


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--layers", type=int, default=16)
    a = ap.parse_args()
    cfg = {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 2048,
        "intermediate_size": 8192, "num_hidden_layers": a.layers, "num_attention_heads": 32,
        "num_key_value_heads": 8, "head_dim": 64, "vocab_size": 128256, "max_position_embeddings": 131072,
        "rms_norm_eps": 1e-5, "rope_theta": 500000.0, "hidden_act": "silu", "tie_word_embeddings": True,
        "bos_token_id": 1, "eos_token_id": 2, "torch_dtype": "bfloat16",
    }
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "config.json"), "w") as fh:
        json.dump(cfg, fh, indent=1)
    for f in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(os.path.join(FIXTURE, f), os.path.join(a.out, f))
    items = list(tensors(cfg))
    half = len(items) // 2
    shards = [("model-00001-of-00002.safetensors", items[:half]), ("model-00002-of-00002.safetensors", items[half:])]
    rng = np.random.default_rng(0)
    total, weight_map = 0, {}
    for fname, part in shards:
        total += write_shard(os.path.join(a.out, fname), part, rng)
        for name, _, _ in part:
            weight_map[name] = fname
    with open(os.path.join(a.out, "model.safetensors.index.json"), "w") as fh:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, fh, indent=1)
    n_params = sum(int(np.prod(s)) for _, s, _ in items)
    print(f"{a.out}: {n_params / 1e9:.3f} B parameters, {total / 1e9:.3f} GB of bf16 in 2 shards")


if __name__ == "__main__":
    main()
