// tests/fuzz/fuzz_qnt.cpp — libFuzzer target for the .qnt reader. The index checksum is not checked,
// so mutated indexes reach the parser instead of stopping at the checksum.
#include <cstddef>
#include <cstdint>

#include "formats/qnt.h"
#include "tests/fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t * data, size_t size) {
    quanta::formats::QntOpenOptions options;
    options.check_index_checksum = false;
    auto r = quanta::formats::QntReader::open_memory({data, size}, "fuzz.qnt", options);
    if (!r.ok()) return 0;
    volatile uint64_t sink = quanta::fuzz::touch_tensors(r->tensors()) + quanta::fuzz::touch_metadata(r->metadata());
    sink = sink + r->verify(1).size();
    for (const auto & t : r->tensors()) sink = sink + (r->find(t.name) == &t);
    return 0;
}
