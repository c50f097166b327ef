#!/usr/bin/env bash
# bench/gpu/prepare.sh — runs HERE (a Debian bookworm machine with network), before a GPU session.
#
# The GPU machines of the `device` tool have nvcc, cmake, ninja and python3 + torch, but none of
# quanta's Debian -dev packages, and they cannot download anything. This script fetches those
# packages as .deb files (apt-get download: no install, no root needed) into bench/gpu/debs/
# (git-ignored), which the device call carries (`carry: ["bench/gpu/debs"]`). bench/gpu-check.sh
# unpacks them with `dpkg -x` into a private prefix (never into /) and points CMake and pkg-config
# at it. About 6 MB.
#
# Usage: bench/gpu/prepare.sh            (then: device run, carry bench/gpu/debs, bench/gpu-check.sh)
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p debs
# Header-only or -dev packages quanta's CMake finds, plus the runtime libraries their .so links
# point to, plus pkg-config itself (FindPkgConfig needs the binary) and the Vulkan loader + glslc
# for the optional Vulkan tests.
packages=(
  catch2 libcli11-dev nlohmann-json3-dev
  libxxhash-dev libxxhash0
  libpcre2-dev libpcre2-8-0 libpcre2-16-0 libpcre2-32-0 libpcre2-posix3
  pkgconf pkgconf-bin libpkgconf3 pkg-config
  libvulkan-dev libvulkan1 glslc libshaderc1
)
apt_opts=()
if [ "$(id -u)" -ne 0 ] || [ ! -w /var/lib/apt/lists ]; then
  # Without root, keep apt's package lists in a private folder.
  mkdir -p /tmp/quanta-apt-lists/partial
  apt_opts=(-o Dir::State::Lists=/tmp/quanta-apt-lists)
  apt-get "${apt_opts[@]}" update -qq
elif ! apt-cache show catch2 >/dev/null 2>&1; then
  apt-get update -qq
fi
(cd debs && rm -f ./*.deb && apt-get "${apt_opts[@]}" download "${packages[@]}")
ls -1 debs | sed 's/^/  /'
echo "prepare: $(ls debs/*.deb | wc -l) packages, $(du -sh debs | cut -f1) in bench/gpu/debs (carry it to the GPU machine)"
