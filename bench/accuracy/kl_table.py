"""Mean / max KL(reference || candidate) and top-1 agreement over all positions, one line per candidate.
usage: kl_table.py reference.npy candidate.npy...
"""
import sys

import numpy as np


def log_softmax(x):
    x = x.astype(np.float64)
    x = x - x.max(axis=-1, keepdims=True)
    return x - np.log(np.exp(x).sum(axis=-1, keepdims=True))


ref = np.load(sys.argv[1])
lp = log_softmax(ref)
p = np.exp(lp)
top = ref.argmax(-1)
for path in sys.argv[2:]:
    got = np.load(path)
    kl = (p * (lp - log_softmax(got))).sum(-1)
    agree = (got.argmax(-1) == top).mean()
    print(f"{path}: mean KL {kl.mean():.3g}, median {np.median(kl):.3g}, max {kl.max():.3g}, top-1 {100 * agree:.1f}% ({len(kl)} positions)")
