"""PyTorch bf16 baseline for bench/gpu-check.sh: the same model shape's decode step (tg) and
512-token prompt (pp512) as plain bf16 matrix products plus scaled_dot_product_attention, on random
weights, on the GPU. A skeleton, not a model: no norms, rope or activations (they are a few percent
of the time); it bounds what a straightforward bf16 PyTorch runtime does on this device.

Weights: min(n_layer, 4) distinct layers, cycled through n_layer (one layer's weights are hundreds
of MB, far beyond L2, so every layer still reads its weights from device memory) plus the output
matrix. The decode step runs as one captured CUDA graph (eager launch overhead would dominate),
against a KV cache of 512 positions.

Usage: torch_baseline.py SHAPE      (llama3-8b | gemma2-27b; tiny with QUANTA_TORCH_DEVICE=cpu is a
self-test of this script on a machine without a GPU)   Prints one JSON line.
"""
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

SHAPES = {
    "llama3-8b": dict(n_embd=4096, n_layer=32, n_head=32, n_head_kv=8, head_dim=128, n_ff=14336, n_vocab=128256),
    "gemma2-27b": dict(n_embd=4608, n_layer=46, n_head=32, n_head_kv=16, head_dim=128, n_ff=36864, n_vocab=256000),
    "tiny": dict(n_embd=256, n_layer=2, n_head=4, n_head_kv=2, head_dim=64, n_ff=512, n_vocab=1000),
}


def main():
    s = SHAPES[sys.argv[1]]
    dev = torch.device(os.environ.get("QUANTA_TORCH_DEVICE", "cuda"))
    cuda = dev.type == "cuda"

    def sync():
        if cuda:
            torch.cuda.synchronize()
    dt = torch.bfloat16
    E, H, HK, D, FF, V = s["n_embd"], s["n_head"], s["n_head_kv"], s["head_dim"], s["n_ff"], s["n_vocab"]
    n_distinct = min(s["n_layer"], 4)

    def w(n_out, n_in):
        return torch.randn(n_out, n_in, device=dev, dtype=dt) * 0.02

    layers = [dict(qkv=w((H + 2 * HK) * D, E), o=w(E, H * D), gate_up=w(2 * FF, E), down=w(E, FF)) for _ in range(n_distinct)]
    out_w = w(V, E)
    matmul_params = s["n_layer"] * ((H + 2 * HK) * D * E + E * H * D + 3 * FF * E) + V * E
    n_ctx = 512
    kcache = torch.randn(1, HK, n_ctx, D, device=dev, dtype=dt)
    vcache = torch.randn(1, HK, n_ctx, D, device=dev, dtype=dt)

    def forward(x, causal):
        T = x.shape[0]
        for il in range(s["n_layer"]):
            L = layers[il % n_distinct]
            qkv = x @ L["qkv"].t()
            q = qkv[:, : H * D].view(T, H, D).transpose(0, 1).unsqueeze(0)
            if causal:  # prompt: keys are the prompt itself
                k = qkv[:, H * D : (H + HK) * D].view(T, HK, D).transpose(0, 1).unsqueeze(0)
                v = qkv[:, (H + HK) * D :].view(T, HK, D).transpose(0, 1).unsqueeze(0)
            else:  # decode: keys are the cache
                k, v = kcache, vcache
            k = k.repeat_interleave(H // HK, dim=1)
            v = v.repeat_interleave(H // HK, dim=1)
            a = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
            x = x + a.squeeze(0).transpose(0, 1).reshape(T, H * D) @ L["o"].t()
            gu = x @ L["gate_up"].t()
            x = x + (F.silu(gu[:, :FF]) * gu[:, FF:]) @ L["down"].t()
        return x[-1:] @ out_w.t()

    def timed(fn, reps):
        fn()
        sync()
        times = []
        for _ in range(reps):
            t0 = time.perf_counter()
            fn()
            sync()
            times.append(time.perf_counter() - t0)
        times.sort()
        return times[len(times) // 2]

    with torch.no_grad():
        x1 = torch.randn(1, E, device=dev, dtype=dt) * 0.1
        graph_ok = cuda
        try:
            if not cuda:
                raise RuntimeError("no CUDA graphs off the GPU")
            stream = torch.cuda.Stream()
            stream.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(stream):
                forward(x1, False)  # warm-up outside the capture
            torch.cuda.current_stream().wait_stream(stream)
            g = torch.cuda.CUDAGraph()
            with torch.cuda.graph(g):
                forward(x1, False)
            step = g.replay
        except Exception:  # noqa: BLE001 — fall back to eager, and say so
            graph_ok = False
            step = lambda: forward(x1, False)  # noqa: E731
        t_tg = timed(lambda: [step() for _ in range(16)], 5) / 16
        xp = torch.randn(512, E, device=dev, dtype=dt) * 0.1
        t_pp = timed(lambda: forward(xp, True), 5)
    print(json.dumps(dict(shape=sys.argv[1], tg_tok_s=1.0 / t_tg, pp512_tok_s=512.0 / t_pp,
                          pp512_tflops=2.0 * matmul_params * 512 / t_pp / 1e12, cuda_graph=graph_ok,
                          weight_bytes=2 * matmul_params, distinct_layers=n_distinct)))


if __name__ == "__main__":
    main()
