"""Compact transformers reference for tests/real/test_real_gemma_accuracy.cpp (issue #8).

transformers loads the Q4_K_M GGUF (every weight dequantized to f32), runs the prompt (eager
attention, f32) and, per position, keeps the reference distribution's top-K token ids with their
log-probabilities plus the log of the probability mass outside them. The test computes KL over those
K ids and one "rest" bucket: a lower bound of the full KL (log-sum inequality); bench/RESULTS.md
records how close it is (kl_table.py on --full-logits of the same run).

Prompt: the first --bytes bytes of --text (default: 600 bytes of Debian's GPL-3), tokenized with
the GGUF's tokenizer, BOS first; or --tokens ids.npy (e.g. the OUT.tokens.npy of `quanta logits`).

File layout (little-endian):
  0  char[8]  "QKLTOPK1"
  8  u32      n_tokens
 12  u32      k
 16  u32      n_vocab
 20  u32      0 (reserved)
 24  i32      ids[n_tokens]                  the prompt
     then per position p (n_tokens times):
     f64      log_rest                       log(1 - sum of the K probabilities), from the full softmax
     i32      top_ids[k]                     descending probability (top_ids[0] is the top-1)
     f32      top_logprobs[k]                log-softmax of the full logits at those ids

usage: hf_topk_fixture.py model.gguf out.bin [--k 1024] [--text FILE --bytes 600 | --tokens ids.npy]
                          [--full-logits logits.npy]
"""
import argparse
import os
import struct

import numpy as np
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

ap = argparse.ArgumentParser()
ap.add_argument("gguf")
ap.add_argument("out")
ap.add_argument("--k", type=int, default=1024)
ap.add_argument("--text", default="/usr/share/common-licenses/GPL-3")
ap.add_argument("--bytes", type=int, default=600)
ap.add_argument("--tokens")
ap.add_argument("--full-logits", help="also save the full float32 logits (n_tokens x n_vocab) here")
a = ap.parse_args()

folder, name = os.path.dirname(os.path.abspath(a.gguf)), os.path.basename(a.gguf)
if a.tokens:
    ids = np.load(a.tokens).astype(np.int64).reshape(-1)
else:
    tok = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    with open(a.text, "rb") as f:
        text = f.read()[: a.bytes].decode("utf-8")
    ids = np.array(tok(text, add_special_tokens=True)["input_ids"], dtype=np.int64)
    assert ids[0] == tok.bos_token_id, "the tokenizer did not add BOS"

model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32, attn_implementation="eager")
model.eval()
with torch.no_grad():
    logits = model(torch.tensor(ids).reshape(1, -1)).logits[0].double()
if a.full_logits:
    np.save(a.full_logits, logits.float().numpy())

lp = torch.log_softmax(logits, dim=-1)
top_lp, top_ids = torch.topk(lp, a.k, dim=-1)  # sorted, descending
n, vocab = lp.shape
with open(a.out, "wb") as f:
    f.write(b"QKLTOPK1")
    f.write(struct.pack("<4I", n, a.k, vocab, 0))
    f.write(ids.astype("<i4").tobytes())
    for p in range(n):
        rest = lp[p].clone()
        rest[top_ids[p]] = -float("inf")
        f.write(struct.pack("<d", float(torch.logsumexp(rest, dim=0))))
        f.write(top_ids[p].numpy().astype("<i4").tobytes())
        f.write(top_lp[p].float().numpy().astype("<f4").tobytes())
print(f"{a.out}: {n} positions, top-{a.k} of {vocab}, {os.path.getsize(a.out)} bytes; "
      f"mean rest mass {1.0 - float(torch.exp(top_lp).sum(-1).mean()):.3g}")
