"""Writes the real Gemma 3 270M as a Hugging Face checkpoint (config.json, model.safetensors,
tokenizer.json, tokenizer_config.json) from the Q4_K_M GGUF, with transformers: the GGUF's weights
are dequantized to float32 by transformers' GGUF loader and saved with save_pretrained (bf16 on
disk, as Google publishes the model), the tokenizer likewise. `quanta convert` on the result is
checked against the GGUF import by tests/real/test_real_hf_gemma.cpp.

usage: make-hf-gemma.py GGUF OUT_DIR
"""
import json
import os
import sys

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer


def main():
    gguf, out = sys.argv[1], sys.argv[2]
    folder, name = os.path.dirname(os.path.abspath(gguf)), os.path.basename(gguf)
    tok = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    loaded = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
    # A model loaded from a GGUF refuses save_pretrained; rebuild it from its config and weights.
    model = AutoModelForCausalLM.from_config(loaded.config, dtype=torch.float32)
    missing, unexpected = model.load_state_dict(loaded.state_dict(), strict=False)
    missing = [k for k in missing if k != "lm_head.weight"]  # tied to the embeddings
    if missing or unexpected:
        sys.exit(f"make-hf-gemma: weights do not fit the config: missing {missing}, unexpected {unexpected}")
    model = model.to(torch.bfloat16)
    tmp = out + ".part"
    model.save_pretrained(tmp, safe_serialization=True)
    tok.save_pretrained(tmp)
    # The GGUF loader's "quantization_config: {quant_method: gguf}" is not part of a real checkpoint.
    path = os.path.join(tmp, "config.json")
    with open(path) as fh:
        config = json.load(fh)
    config.pop("quantization_config", None)
    with open(path, "w") as fh:
        json.dump(config, fh, indent=2)
    os.replace(tmp, out)
    print(out)


if __name__ == "__main__":
    main()
