#!/usr/bin/env bash
# Writes the real Gemma 3 270M as a Hugging Face checkpoint into $QUANTA_CACHE/gemma-3-270m-hf
# (default ~/.cache/quanta), made by transformers from the GGUF that scripts/fetch-gemma.sh obtains
# (scripts/make-hf-gemma.py). Needs .venv with torch and transformers (scripts/setup-venv.sh).
# Idempotent: a second run only prints the path.
set -euo pipefail
cd "$(dirname "$0")/.."
cache="${QUANTA_CACHE:-$HOME/.cache/quanta}"
out="$cache/gemma-3-270m-hf"
if [ -s "$out/config.json" ]; then echo "$out"; exit 0; fi
gguf="$(scripts/fetch-gemma.sh)"
rm -rf "$out.part"
.venv/bin/python scripts/make-hf-gemma.py "$gguf" "$out" >&2
echo "$out"
