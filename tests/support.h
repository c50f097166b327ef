// tests/support.h — shared helpers for quanta's Catch2 tests.
#pragma once

#include <cstdlib>
#include <iostream>
#include <string>

// Where the source tree and the build tree are (for fixtures and built tools).
inline std::string source_path(const std::string & rel) { return std::string(QUANTA_SOURCE_DIR) + "/" + rel; }
inline std::string binary_path(const std::string & rel) { return std::string(QUANTA_BINARY_DIR) + "/" + rel; }

// The real Gemma 3 270M GGUF where scripts/fetch-gemma.sh puts it (`make test` runs that script):
// $QUANTA_GEMMA_GGUF, else $QUANTA_CACHE or ~/.cache/quanta. Tests labelled real skip aloud without it.
inline std::string real_gemma_gguf() {
    if (const char * p = std::getenv("QUANTA_GEMMA_GGUF")) return p;
    const char * cache = std::getenv("QUANTA_CACHE");
    const char * home = std::getenv("HOME");
    return (cache ? std::string(cache) : std::string(home ? home : "/root") + "/.cache/quanta") +
           "/gemma-3-270m-q4_k_m.gguf";
}

// Skips the current test aloud: CTest matches "QUANTA_SKIP:" and reports the test as skipped.
#define QUANTA_SKIP(reason)                                                   \
    do {                                                                      \
        std::cout << "QUANTA_SKIP: " << reason << std::endl;                  \
        return;                                                               \
    } while (0)
