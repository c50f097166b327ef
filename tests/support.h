// tests/support.h — shared helpers for quanta's Catch2 tests.
#pragma once

#include <iostream>
#include <string>

// Where the source tree and the build tree are (for fixtures and built tools).
inline std::string source_path(const std::string & rel) { return std::string(QUANTA_SOURCE_DIR) + "/" + rel; }
inline std::string binary_path(const std::string & rel) { return std::string(QUANTA_BINARY_DIR) + "/" + rel; }

// Skips the current test aloud: CTest matches "QUANTA_SKIP:" and reports the test as skipped.
#define QUANTA_SKIP(reason)                                                   \
    do {                                                                      \
        std::cout << "QUANTA_SKIP: " << reason << std::endl;                  \
        return;                                                               \
    } while (0)
