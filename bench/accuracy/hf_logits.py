"""Reference logits for the KL decomposition (bench/RESULTS.md, "Gemma 3 270M: where the KL comes from").

transformers loads the Q4_K_M GGUF (dequantizing every weight to f32) and runs the token ids that
`quanta logits` wrote (OUT.tokens.npy), eager attention, f32; the logits go to OUT.
usage: hf_logits.py model.gguf tokens.npy out.npy
"""
import os
import sys

import numpy as np
import torch
from transformers import AutoModelForCausalLM

gguf, tokens, out = sys.argv[1:4]
model = AutoModelForCausalLM.from_pretrained(os.path.dirname(gguf), gguf_file=os.path.basename(gguf),
                                             dtype=torch.float32, attn_implementation="eager")
model.eval()
ids = torch.tensor(np.load(tokens).astype(np.int64)).reshape(1, -1)
with torch.no_grad():
    logits = model(ids).logits[0].float().numpy()
np.save(out, logits)
print(f"{out}: {logits.shape}")
