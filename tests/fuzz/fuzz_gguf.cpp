// tests/fuzz/fuzz_gguf.cpp — libFuzzer target for the GGUF reader.
#include <cstddef>
#include <cstdint>

#include "formats/gguf.h"
#include "tests/fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t * data, size_t size) {
    auto r = quanta::formats::GgufReader::open_memory({data, size}, "fuzz.gguf");
    if (!r.ok()) return 0;
    volatile uint64_t sink = quanta::fuzz::touch_tensors(r->tensors()) + quanta::fuzz::touch_metadata(r->metadata());
    for (const auto & t : r->tensors()) sink = sink + (r->find(t.name) == &t);
    return 0;
}
