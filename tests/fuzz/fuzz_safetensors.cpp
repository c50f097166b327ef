// tests/fuzz/fuzz_safetensors.cpp — libFuzzer target for the safetensors reader: each input is parsed
// both as a .safetensors file and as the JSON text of a model.safetensors.index.json.
#include <cstddef>
#include <cstdint>

#include "formats/safetensors.h"
#include "tests/fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t * data, size_t size) {
    auto idx = quanta::formats::parse_safetensors_index({reinterpret_cast<const char *>(data), size}, "fuzz.json");
    if (idx.ok()) {
        volatile size_t n = 0;
        for (const auto & [tensor, shard] : idx->weight_map) n = n + tensor.size() + shard.size();
    }
    auto r = quanta::formats::SafetensorsFile::open_memory({data, size}, "fuzz.safetensors");
    if (!r.ok()) return 0;
    volatile uint64_t sink = quanta::fuzz::touch_tensors(r->tensors());
    for (const auto & [k, v] : r->metadata()) sink = sink + k.size() + v.size();
    for (const auto & t : r->tensors()) sink = sink + (r->find(t.name) == &t);
    return 0;
}
