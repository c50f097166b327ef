#!/usr/bin/env python3
"""Dumps real weights for quant_bench --weights: the tensors of a GGUF file stored at 6 bits or
more (Q8_0, Q6_K, F16, BF16, F32 matrices), decoded to float32 with gguf.quants.

Why only those: re-quantizing a tensor that is already Q4_K to Q4_K is lossless by construction
and would flatter Q4_K; the 6-8 bit tensors give every 4-bit format the same starting point
(Q6_K's own row is still flattered on Q6_K tensors).

  dump_weights.py MODEL.gguf OUT.bin [--max-rows 8192]
Record: u32 name_len, name, u32 rows, u32 cols, float32[rows * cols] (cols innermost).
"""
import argparse
import struct

import numpy as np
from gguf import GGUFReader
from gguf import GGMLQuantizationType as T
from gguf import quants

KEEP = {T.Q8_0, T.Q6_K, T.F16, T.BF16, T.F32}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("out")
    ap.add_argument("--max-rows", type=int, default=8192)
    args = ap.parse_args()
    r = GGUFReader(args.model)
    n = 0
    with open(args.out, "wb") as f:
        for t in r.tensors:
            if t.tensor_type not in KEEP or len(t.shape) != 2:
                continue
            cols, rows = int(t.shape[0]), int(t.shape[1])
            rows_kept = min(rows, args.max_rows)
            data = np.asarray(t.data)
            x = quants.dequantize(data, t.tensor_type).reshape(rows, cols)[:rows_kept].astype(np.float32)
            name = t.name.encode()
            f.write(struct.pack("<I", len(name)) + name + struct.pack("<II", rows_kept, cols))
            f.write(np.ascontiguousarray(x).tobytes())
            n += x.size
            print(f"{t.name} {t.tensor_type.name} [{cols}, {rows_kept}]")
    print(f"{n} weights written to {args.out}")


if __name__ == "__main__":
    main()
