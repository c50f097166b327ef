"""Builds llama.cpp's own llama-bench and llama-perplexity from the llama.cpp source carried inside
the PyPI llama-cpp-python source package, once, into third_party_peers/ (ignored by git).

The build is CPU-only, Release, with the same compilers quanta's build uses (cc/c++), and llama.cpp's
default GGML_NATIVE=ON (llama.cpp as its users build it on this machine). It is cached: a second run
finds the binaries and a stamp naming the sdist and flags, and does not rebuild.
"""
from __future__ import annotations

import glob
import os
import subprocess
import sys
import tarfile
from pathlib import Path

CMAKE_FLAGS = [
    "-G", "Ninja",
    "-DCMAKE_BUILD_TYPE=Release",
    "-DCMAKE_C_COMPILER=cc",
    "-DCMAKE_CXX_COMPILER=c++",
    "-DGGML_CUDA=OFF",
    "-DGGML_VULKAN=OFF",
    "-DGGML_METAL=OFF",
    "-DLLAMA_OPENSSL=OFF",
    "-DLLAMA_BUILD_TESTS=OFF",
    "-DLLAMA_BUILD_EXAMPLES=OFF",
    "-DLLAMA_BUILD_SERVER=OFF",
    "-DBUILD_SHARED_LIBS=OFF",
    "-DGGML_NATIVE=ON",
]
TARGETS = ["llama-bench", "llama-perplexity"]


def log(msg: str) -> None:
    print(f"compare-llamacpp: {msg}", file=sys.stderr, flush=True)


def find_or_fetch_sdist(peers: Path, venv_python: Path) -> Path:
    found = sorted(peers.glob("llama_cpp_python-*.tar.gz"))
    if not found:
        log("downloading the llama-cpp-python source package from PyPI into third_party_peers/")
        subprocess.run([str(venv_python), "-m", "pip", "download", "--no-binary", ":all:", "--no-deps",
                        "llama-cpp-python", "-d", str(peers)], check=True)
        found = sorted(peers.glob("llama_cpp_python-*.tar.gz"))
    if not found:
        raise SystemExit("compare-llamacpp: pip download produced no llama_cpp_python-*.tar.gz in "
                         f"{peers}; download it by hand with: pip download --no-binary :all: --no-deps "
                         "llama-cpp-python -d third_party_peers")
    return found[-1]


def build_peer(repo: Path, venv_python: Path) -> dict[str, Path]:
    """Returns {'bench': path, 'perplexity': path, 'version': sdist name}."""
    peers = repo / "third_party_peers"
    peers.mkdir(exist_ok=True)
    sdist = find_or_fetch_sdist(peers, venv_python)
    src_root = peers / sdist.name[: -len(".tar.gz")]
    src = src_root / "vendor" / "llama.cpp"
    if not (src / "CMakeLists.txt").exists():
        log(f"unpacking {sdist.name}")
        with tarfile.open(sdist) as tar:
            tar.extractall(peers, filter="data")
    if not (src / "CMakeLists.txt").exists():
        raise SystemExit(f"compare-llamacpp: {sdist.name} has no vendor/llama.cpp/CMakeLists.txt")
    build = peers / "llama.cpp-build"
    bins = {t: build / "bin" / t for t in TARGETS}
    stamp = build / "quanta-stamp.txt"
    want_stamp = sdist.name + "\n" + " ".join(CMAKE_FLAGS) + "\n"
    if all(b.exists() for b in bins.values()) and stamp.exists() and stamp.read_text() == want_stamp:
        log(f"llama.cpp from {sdist.name}: cached build in {build.relative_to(repo)}")
    else:
        log(f"building llama.cpp from {sdist.name} (CPU, Release, nice, -j2); takes a while once")
        subprocess.run(["cmake", "-S", str(src), "-B", str(build), *CMAKE_FLAGS], check=True,
                       stdout=subprocess.DEVNULL)
        subprocess.run(["nice", "ninja", "-C", str(build), "-j2", *TARGETS], check=True)
        stamp.write_text(want_stamp)
    return {"bench": bins["llama-bench"], "perplexity": bins["llama-perplexity"],
            "version": sdist.name[: -len(".tar.gz")]}


if __name__ == "__main__":
    root = Path(__file__).resolve().parents[2]
    print(build_peer(root, root / ".venv" / "bin" / "python"))
