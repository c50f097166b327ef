#!/usr/bin/env bash
# Installs quanta's build and test dependencies from Debian packages. Idempotent, non-interactive.
# As a non-root user it prints the apt line to run instead. The CUDA toolkit is not installed
# here: it is found where it already is (/usr/local/cuda); without it the CUDA backend is skipped.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config git clang libclang-rt-14-dev
  libxxhash-dev libstb-dev libcli11-dev catch2 nlohmann-json3-dev libpcre2-dev libhwy-dev libutf8proc-dev
  libvulkan-dev glslc glslang-tools spirv-tools mesa-vulkan-drivers vulkan-tools vulkan-validationlayers
  python3-venv libsentencepiece-dev
  g++-aarch64-linux-gnu qemu-user
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

apt_line="apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages; run as root:" >&2
  echo "  sudo apt-get update && sudo $apt_line" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
$apt_line -qq
echo "install-deps: installed ${missing[*]}"
