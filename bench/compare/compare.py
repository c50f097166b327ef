"""quanta vs llama.cpp on the same GGUF files, same threads, same prompt/generation lengths.

Runs llama.cpp's own llama-bench and quanta's `quanta bench` in ALTERNATING rounds (round 0:
llama.cpp first, round 1: quanta first, ...), so machine load (six other people compiling) falls
on both alike, and reports the median over every repetition of every round, with the spread, and
the ratio quanta / llama.cpp. Then perplexity of both on the same text and file (the real Gemma 3
270M) and their relative difference. Called by bench/compare-llamacpp; see --help.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from peer_build import build_peer, log  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
PY = ROOT / ".venv" / "bin" / "python"
CACHE = Path(os.environ.get("QUANTA_CACHE", Path.home() / ".cache" / "quanta"))


@dataclass
class Case:
    name: str        # row label
    gguf: Path
    make: tuple[str, str] | None  # (shape, type) for synthetic files, None for fetched ones
    n_prompt: int
    n_gen: int
    pp: dict[str, list[float]] = field(default_factory=lambda: {"llama.cpp": [], "quanta": []})
    tg: dict[str, list[float]] = field(default_factory=lambda: {"llama.cpp": [], "quanta": []})
    bw_pct: list[float] = field(default_factory=list)
    bw_eff: list[float] = field(default_factory=list)


def cases(args: argparse.Namespace) -> list[Case]:
    out: list[Case] = []
    if "gemma3" in args.files:
        gguf = subprocess.run(["bash", str(ROOT / "scripts" / "fetch-gemma.sh")], check=True,
                              capture_output=True, text=True).stdout.strip()
        out.append(Case("gemma3-270m Q4_K_M (real)", Path(gguf), None, args.n_prompt, args.n_gen))
    for shape, p, n in (("llama-1b", args.n_prompt, args.n_gen), ("gemma2-2b", args.n_prompt_2b, args.n_gen_2b)):
        for t in ("Q4_0", "Q4_K_M", "Q8_0"):
            key = f"{shape}-{t.lower()}"
            if key in args.files:
                out.append(Case(f"{shape} {t} (synthetic)", CACHE / "compare" / f"{key}.gguf", (shape, t), p, n))
    return out


def ensure_files(c: Case, quanta: Path) -> Path:
    if c.make and not c.gguf.exists():
        c.gguf.parent.mkdir(parents=True, exist_ok=True)
        log(f"writing {c.gguf} (random weights, {c.make[0]} shape, {c.make[1]})")
        subprocess.run([str(PY), str(ROOT / "bench" / "compare" / "make_synthetic_gguf.py"), *c.make, str(c.gguf)],
                       check=True)
    qnt = c.gguf.with_suffix(".qnt")
    if not qnt.exists() or qnt.stat().st_mtime < c.gguf.stat().st_mtime:
        log(f"importing {c.gguf.name} -> {qnt.name}")
        subprocess.run([str(quanta), "convert", str(c.gguf), "-o", str(qnt)], check=True, stdout=subprocess.DEVNULL)
    return qnt


def run(cmd: list[str], merge_stderr: bool = False) -> str:
    """stdout (and stderr, where the tool prints its result there, as llama-perplexity does)."""
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"compare-llamacpp: {' '.join(cmd)} failed (exit {r.returncode}):\n{r.stderr[-3000:]}")
    return r.stdout + r.stderr if merge_stderr else r.stdout


def llama_bench(peer: dict, c: Case, threads: int, reps: int) -> None:
    out = run([str(peer["bench"]), "-m", str(c.gguf), "-t", str(threads), "-p", str(c.n_prompt),
               "-n", str(c.n_gen), "-r", str(reps), "-o", "json"])
    for test in json.loads(out):
        samples = [float(x) for x in test["samples_ts"]]
        if test["n_prompt"] > 0 and test["n_gen"] == 0:
            c.pp["llama.cpp"] += samples
        elif test["n_gen"] > 0 and test["n_prompt"] == 0:
            c.tg["llama.cpp"] += samples


def quanta_bench(quanta: Path, qnt: Path, c: Case, threads: int, reps: int, bandwidth: float) -> float:
    cmd = [str(quanta), "bench", "-m", str(qnt), "-t", str(threads), "-p", str(c.n_prompt), "-n", str(c.n_gen),
           "-r", str(reps)]
    if bandwidth > 0:
        cmd += ["--bandwidth", f"{bandwidth:.3f}"]
    out = run(cmd)
    # quanta bench prints the median and spread only; run it with -r 1 per sample to keep every value
    m = re.search(r"^pp\d+\s+([\d.]+) tok/s", out, re.M)
    if m:
        c.pp["quanta"].append(float(m.group(1)))
    m = re.search(r"^tg\d+\s+([\d.]+) tok/s", out, re.M)
    if m:
        c.tg["quanta"].append(float(m.group(1)))
    m = re.search(r"effective bandwidth ([\d.]+) GB/s = (\d+)% of ([\d.]+) GB/s", out)
    if m:
        c.bw_eff.append(float(m.group(1)))
        c.bw_pct.append(float(m.group(2)))
        return float(m.group(3))
    return bandwidth


def fmt(v: list[float]) -> str:
    if not v:
        return "-"
    return f"{statistics.median(v):.1f} ({min(v):.1f}-{max(v):.1f})"


def ratio(q: list[float], l: list[float]) -> str:
    if not q or not l:
        return "-"
    return f"{statistics.median(q) / statistics.median(l):.2f}"


def perplexity(peer: dict, quanta: Path, gguf: Path, qnt: Path, text: Path, ctx: int, chunks: int,
               threads: int) -> None:
    print(f"\n## perplexity: {gguf.name}, text {text}, -c {ctx}, {chunks} chunks, {threads} threads")
    t0 = time.time()
    lo = run([str(peer["perplexity"]), "-m", str(gguf), "-f", str(text), "-c", str(ctx), "--chunks", str(chunks),
              "-t", str(threads)], merge_stderr=True)
    lt = time.time() - t0
    t0 = time.time()
    qo = run([str(quanta), "perplexity", "-m", str(qnt), "-f", str(text), "-c", str(ctx), "--chunks", str(chunks),
              "-t", str(threads)])
    qt = time.time() - t0
    lm = re.search(r"Final estimate: PPL = ([\d.]+) \+/- ([\d.]+)", lo)
    qm = re.search(r"PPL = ([\d.]+) \+/- ([\d.]+)", qo)
    if not lm or not qm:
        raise SystemExit(f"compare-llamacpp: could not read a PPL from llama-perplexity / quanta output:\n{lo[-800:]}\n{qo[-800:]}")
    lp, qp = float(lm.group(1)), float(qm.group(1))
    diff = 100.0 * (qp - lp) / lp
    print("| runtime | PPL | wall s |\n|---|---|---|")
    print(f"| llama.cpp ({peer['version']}) | {lp:.4f} +/- {lm.group(2)} | {lt:.1f} |")
    print(f"| quanta | {qp:.4f} +/- {qm.group(2)} | {qt:.1f} |")
    print(f"difference quanta - llama.cpp: {diff:+.3f}% ({'within' if abs(diff) <= 0.5 else 'OUTSIDE'} the 0.5% target)")


def main() -> int:
    all_files = ["gemma3", "llama-1b-q4_0", "llama-1b-q4_k_m", "llama-1b-q8_0",
                 "gemma2-2b-q4_0", "gemma2-2b-q4_k_m", "gemma2-2b-q8_0"]
    ap = argparse.ArgumentParser(prog="bench/compare-llamacpp", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quanta", type=Path, default=ROOT / "build" / "bin" / "quanta", help="quanta binary (default: build/bin/quanta)")
    ap.add_argument("--files", nargs="+", default=all_files, choices=all_files, help="which files (default: all)")
    ap.add_argument("-t", "--threads", type=int, default=2)
    ap.add_argument("-p", "--n-prompt", type=int, default=512)
    ap.add_argument("-n", "--n-gen", type=int, default=128)
    ap.add_argument("--n-prompt-2b", type=int, default=128, help="prompt length for the Gemma-2-2B shape (default 128)")
    ap.add_argument("--n-gen-2b", type=int, default=32, help="generated tokens for the Gemma-2-2B shape (default 32)")
    ap.add_argument("--rounds", type=int, default=3, help="alternating rounds per file (default 3; 0: perplexity only)")
    ap.add_argument("--ppl-chunks", type=int, default=4, help="perplexity chunks of 512 tokens (0: skip perplexity)")
    ap.add_argument("--ppl-text", type=Path, default=Path("/usr/share/common-licenses/GPL-3"))
    args = ap.parse_args()
    if not args.quanta.exists():
        raise SystemExit(f"compare-llamacpp: no quanta binary at {args.quanta}; build it (make build) or pass --quanta")
    peer = build_peer(ROOT, PY)
    todo = cases(args)
    cases_all = list(todo)
    qnts = {c.name: ensure_files(c, args.quanta) for c in todo}

    if args.rounds == 0:
        todo = []
    load0 = os.getloadavg()
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    if todo:
        print(f"\n## quanta vs llama.cpp ({peer['version']}), {started}, quanta commit {commit}")
        print(f"{args.threads} threads, CPU, {args.rounds} alternating rounds x 1 repetition each (llama-bench adds its own "
              f"warm-up run); load average {load0[0]:.1f} at the start; median (min-max) tok/s")
        print("| file | pp | llama.cpp pp | quanta pp | ratio | tg | llama.cpp tg | quanta tg | ratio | quanta tg bandwidth |")
        print("|---|---|---|---|---|---|---|---|---|---|", flush=True)
    bandwidth = 0.0
    for c in todo:
        for rnd in range(args.rounds):
            order = ["llama.cpp", "quanta"] if rnd % 2 == 0 else ["quanta", "llama.cpp"]
            for who in order:
                log(f"{c.name}: round {rnd + 1}/{args.rounds}, {who}")
                if who == "llama.cpp":
                    llama_bench(peer, c, args.threads, 1)
                else:
                    bandwidth = quanta_bench(args.quanta, qnts[c.name], c, args.threads, 1, bandwidth)
        # each row as soon as its file is done, so a long run that is cut short still reports
        bw = f"{statistics.median(c.bw_eff):.1f} GB/s = {statistics.median(c.bw_pct):.0f}%" if c.bw_pct else "-"
        print(f"| {c.name} | pp{c.n_prompt} | {fmt(c.pp['llama.cpp'])} | {fmt(c.pp['quanta'])} | "
              f"{ratio(c.pp['quanta'], c.pp['llama.cpp'])} | tg{c.n_gen} | {fmt(c.tg['llama.cpp'])} | "
              f"{fmt(c.tg['quanta'])} | {ratio(c.tg['quanta'], c.tg['llama.cpp'])} | {bw} |", flush=True)
    if todo:
        print(f"load average {os.getloadavg()[0]:.1f} at the end; quanta's read bandwidth (1 GiB, best of 3) "
              f"measured {bandwidth:.1f} GB/s")
    sys.stdout.flush()

    if args.ppl_chunks > 0:
        real = [c for c in cases_all if c.make is None]
        if not real:
            log("perplexity skipped: the real Gemma file is not among --files")
        else:
            perplexity(peer, args.quanta, real[0].gguf, qnts[real[0].name], args.ppl_text, 512, args.ppl_chunks,
                       args.threads)
    return 0


if __name__ == "__main__":
    sys.exit(main())
