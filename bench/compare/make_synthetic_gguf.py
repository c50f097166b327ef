"""Writes random-weight GGUF files of a real model's shape, for speed comparisons only.

Speed does not depend on weight values, so the blocks are random bytes with their fp16 scale
fields overwritten by small sane values (weights of about N(0, 0.02), no inf/NaN in activations).
The tensor types follow llama.cpp's own mixes: Q8_0 everywhere for Q8_0; Q4_0 with a Q6_K output
matrix for Q4_0; Q4_K with Q6_K for the output matrix and for attn_v/ffn_down in the layers
llama.cpp's use_more_bits() picks for Q4_K_M. A tied embedding (Gemma 2) takes the output type.
Norm weights are F32 ones. The metadata carries a synthetic vocabulary of the right size that
both llama.cpp and quanta load: for Gemma 2 SentencePiece-style ("llama": <unk> <s> </s>, the 256
byte tokens, then distinct pieces), for Llama byte-level BPE ("gpt2", pre-tokenizer llama-bpe: the
256 byte symbols, merged letter strings with their merges, BOS and EOS).

Usage: make_synthetic_gguf.py SHAPE TYPE OUT.gguf    (SHAPE: llama-1b | gemma2-2b; TYPE: Q8_0 | Q4_0 | Q4_K_M)
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T

SHAPES = {
    # Llama 3.2 1B-like body with a Llama-2 sized vocabulary, as issue #9 asks.
    "llama-1b": dict(arch="llama", n_embd=2048, n_layer=16, n_head=32, n_head_kv=8, head_dim=64,
                     n_ff=8192, n_vocab=32000, tied=False),
    # Gemma 2 2B as released: soft-caps 50/30, sliding window 4096 on every other layer.
    "gemma2-2b": dict(arch="gemma2", n_embd=2304, n_layer=26, n_head=8, n_head_kv=4, head_dim=256,
                      n_ff=9216, n_vocab=256000, tied=True),
}

# Block bytes, block elements, and where the fp16 scale fields sit, with the scale that gives
# weights of roughly N(0, 0.02) for uniformly random quant bytes.
BLOCKS = {
    T.Q8_0: dict(bytes=34, elems=32, f16=[(0, 0.02 / 74)]),
    T.Q4_0: dict(bytes=18, elems=32, f16=[(0, 0.02 / 4.6)]),
    T.Q4_K: dict(bytes=144, elems=256, f16=[(0, 0.02 / (32 * 4.6)), (2, 0.02 / (32 * 8))]),
    T.Q6_K: dict(bytes=210, elems=256, f16=[(208, 0.02 / (74 * 18))]),
}


def random_blocks(rng: np.random.Generator, t: T, rows: int, cols: int) -> np.ndarray:
    b = BLOCKS[t]
    assert cols % b["elems"] == 0, (t, cols)
    nb = cols // b["elems"]
    data = rng.integers(0, 256, size=(rows, nb, b["bytes"]), dtype=np.uint8)
    for off, scale in b["f16"]:
        s = (scale * rng.uniform(0.5, 1.5, size=(rows, nb))).astype(np.float16)
        data[:, :, off:off + 2] = s.view(np.uint8).reshape(rows, nb, 2)
    return data.reshape(rows, nb * b["bytes"])


def use_more_bits(il: int, n_layer: int) -> bool:
    # ref: llama.cpp src/llama-quant.cpp use_more_bits()
    return il < n_layer // 8 or il >= 7 * n_layer // 8 or (il - n_layer // 8) % 3 == 2


def tensor_type(ftype: str, name: str, il: int, n_layer: int, is_output: bool) -> T:
    if ftype == "Q8_0":
        return T.Q8_0
    if is_output:
        return T.Q6_K
    if ftype == "Q4_0":
        return T.Q4_0
    if name in ("attn_v", "ffn_down") and use_more_bits(il, n_layer):
        return T.Q6_K
    return T.Q4_K


def vocab(n_vocab: int) -> tuple[list[bytes], list[float], list[int]]:
    tokens = [b"<unk>", b"<s>", b"</s>"] + [f"<0x{i:02X}>".encode() for i in range(256)]
    types = [gguf.TokenType.UNKNOWN, gguf.TokenType.CONTROL, gguf.TokenType.CONTROL] + [gguf.TokenType.BYTE] * 256
    letters = "abcdefghijklmnopqrstuvwxyz"
    i = 0
    while len(tokens) < n_vocab:
        # distinct pieces: '▁' + base-26 spelling of i, and the bare spelling
        s, k = "", i
        while True:
            s = letters[k % 26] + s
            k //= 26
            if k == 0:
                break
        tokens.append(("\u2581" + s).encode())
        types.append(gguf.TokenType.NORMAL)
        if len(tokens) < n_vocab:
            tokens.append(s.encode())
            types.append(gguf.TokenType.NORMAL)
        i += 1
    scores = [0.0] * 259 + [-float(j) for j in range(n_vocab - 259)]
    return tokens, scores, [int(t) for t in types]


def bytes_to_unicode() -> list[str]:
    # ref: GPT-2 encoder.py bytes_to_unicode(): printable bytes map to themselves, the rest above 255
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(ord("\xa1"), ord("\xac") + 1)) + \
        list(range(ord("\xae"), ord("\xff") + 1))
    out, extra = {}, 0
    for b in range(256):
        if b in keep:
            out[b] = chr(b)
        else:
            out[b] = chr(256 + extra)
            extra += 1
    return [out[b] for b in range(256)]


def vocab_bpe(n_vocab: int) -> tuple[list[str], list[int], list[str]]:
    """Byte-level BPE ("gpt2"): the 256 byte symbols, merged letter strings, then two control
    tokens at the end (BOS, EOS). Every merged token has its merge rule."""
    tokens = bytes_to_unicode()
    types = [int(gguf.TokenType.NORMAL)] * 256
    merges: list[str] = []
    letters = [chr(c) for c in range(ord("a"), ord("z") + 1)] + [chr(c) for c in range(ord("A"), ord("Z") + 1)]
    frontier = list(letters)
    n_words = n_vocab - 2
    while len(tokens) < n_words:
        grown = []
        for left in frontier:
            for right in letters:
                if len(tokens) >= n_words:
                    break
                tokens.append(left + right)
                types.append(int(gguf.TokenType.NORMAL))
                merges.append(f"{left} {right}")
                grown.append(left + right)
        frontier = grown
    tokens += ["<|begin_of_text|>", "<|end_of_text|>"]
    types += [int(gguf.TokenType.CONTROL)] * 2
    return tokens, types, merges


def write(shape: str, ftype: str, out: Path) -> None:
    hp = SHAPES[shape]
    arch = hp["arch"]
    rng = np.random.default_rng(9)
    tmp = out.with_name(out.name + ".part")
    w = gguf.GGUFWriter(str(tmp), arch, use_temp_file=False)
    w.add_name(f"synthetic-{shape}-{ftype}")
    w.add_context_length(8192 if arch == "gemma2" else 4096)
    w.add_embedding_length(hp["n_embd"])
    w.add_block_count(hp["n_layer"])
    w.add_feed_forward_length(hp["n_ff"])
    w.add_head_count(hp["n_head"])
    w.add_head_count_kv(hp["n_head_kv"])
    w.add_key_length(hp["head_dim"])
    w.add_value_length(hp["head_dim"])
    w.add_layer_norm_rms_eps(1e-6 if arch == "gemma2" else 1e-5)
    w.add_rope_freq_base(10000.0 if arch == "gemma2" else 500000.0)
    w.add_rope_dimension_count(hp["head_dim"])
    w.add_vocab_size(hp["n_vocab"])
    if arch == "gemma2":
        w.add_attn_logit_softcapping(50.0)
        w.add_final_logit_softcapping(30.0)
        w.add_sliding_window(4096)
    w.add_file_type({"Q8_0": gguf.LlamaFileType.MOSTLY_Q8_0, "Q4_0": gguf.LlamaFileType.MOSTLY_Q4_0,
                     "Q4_K_M": gguf.LlamaFileType.MOSTLY_Q4_K_M}[ftype])
    if arch == "gemma2":
        tokens, scores, types = vocab(hp["n_vocab"])
        w.add_tokenizer_model("llama")
        w.add_token_list(tokens)
        w.add_token_scores(scores)
        w.add_token_types(types)
        w.add_unk_token_id(0)
        w.add_bos_token_id(1)
        w.add_eos_token_id(2)
    else:
        btokens, btypes, merges = vocab_bpe(hp["n_vocab"])
        w.add_tokenizer_model("gpt2")
        w.add_tokenizer_pre("llama-bpe")
        w.add_token_list(btokens)
        w.add_token_types(btypes)
        w.add_token_merges(merges)
        w.add_bos_token_id(hp["n_vocab"] - 2)
        w.add_eos_token_id(hp["n_vocab"] - 1)
    w.add_add_bos_token(True)
    w.add_add_eos_token(False)

    E, F, L, D = hp["n_embd"], hp["n_ff"], hp["n_layer"], hp["head_dim"]
    q_out, kv_out = hp["n_head"] * D, hp["n_head_kv"] * D

    def matrix(name: str, rows: int, cols: int, t: T) -> None:
        # GGUF shape is (cols, rows) with dim 0 innermost; numpy byte shape is (rows, row_bytes).
        w.add_tensor(name, random_blocks(rng, t, rows, cols), raw_dtype=t)

    def norm(name: str, n: int) -> None:
        w.add_tensor(name, np.ones(n, dtype=np.float32))

    matrix("token_embd.weight", hp["n_vocab"], E,
           tensor_type(ftype, "token_embd", 0, L, is_output=hp["tied"]))
    norm("output_norm.weight", E)
    if not hp["tied"]:
        matrix("output.weight", hp["n_vocab"], E, tensor_type(ftype, "output", 0, L, is_output=True))
    for il in range(L):
        p = f"blk.{il}."
        norm(p + "attn_norm.weight", E)
        matrix(p + "attn_q.weight", q_out, E, tensor_type(ftype, "attn_q", il, L, False))
        matrix(p + "attn_k.weight", kv_out, E, tensor_type(ftype, "attn_k", il, L, False))
        matrix(p + "attn_v.weight", kv_out, E, tensor_type(ftype, "attn_v", il, L, False))
        matrix(p + "attn_output.weight", E, q_out, tensor_type(ftype, "attn_output", il, L, False))
        norm(p + "ffn_norm.weight", E)
        matrix(p + "ffn_gate.weight", F, E, tensor_type(ftype, "ffn_gate", il, L, False))
        matrix(p + "ffn_up.weight", F, E, tensor_type(ftype, "ffn_up", il, L, False))
        matrix(p + "ffn_down.weight", E, F, tensor_type(ftype, "ffn_down", il, L, False))
        if arch == "gemma2":
            norm(p + "post_attention_norm.weight", E)
            norm(p + "post_ffw_norm.weight", E)

    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    tmp.rename(out)


if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] not in SHAPES or sys.argv[2] not in ("Q8_0", "Q4_0", "Q4_K_M"):
        raise SystemExit(__doc__)
    write(sys.argv[1], sys.argv[2], Path(sys.argv[3]))
