// tests/fuzz/make_qnt_seeds.cpp — writes small .qnt seed files for fuzz_qnt with the real writer:
//   build-fuzz/tests/fuzz/fuzz_make_qnt_seeds tests/fuzz/corpus/qnt
#include <cstdio>
#include <string>
#include <vector>

#include "formats/qnt.h"

using namespace quanta;
using namespace quanta::formats;

static int fail(const Status & s) {
    std::fprintf(stderr, "%s\n", s.message().c_str());
    return 1;
}

int main(int argc, char ** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s OUT_DIR\n", argv[0]);
        return 2;
    }
    const std::string dir = argv[1];
    {  // Metadata of every type, no tensors.
        auto w = QntWriter::create(dir + "/metadata_only.qnt", {64});
        if (!w.ok()) return fail(w.status());
        Status s = w->add_u8("u8", 1);
        s = s.ok() ? w->add_i16("i16", -2) : s;
        s = s.ok() ? w->add_u32("llama.block_count", 2) : s;
        s = s.ok() ? w->add_i64("i64", -5) : s;
        s = s.ok() ? w->add_f32("f32", 0.5f) : s;
        s = s.ok() ? w->add_f64("f64", 0.25) : s;
        s = s.ok() ? w->add_bool("bool", true) : s;
        s = s.ok() ? w->add_string("general.architecture", "llama") : s;
        const std::vector<std::string> tokens = {"<s>", "a", "bc"};
        const std::vector<float> scores = {0.f, -1.f, -2.f};
        const std::vector<int32_t> types = {3, 1, 1};
        s = s.ok() ? w->add_array("tokenizer.ggml.tokens", std::span<const std::string>(tokens)) : s;
        s = s.ok() ? w->add_array("tokenizer.ggml.scores", std::span<const float>(scores)) : s;
        s = s.ok() ? w->add_array("tokenizer.ggml.token_type", std::span<const int32_t>(types)) : s;
        s = s.ok() ? w->add_bool_array("bools", {true, false}) : s;
        s = s.ok() ? w->finish() : s;
        if (!s.ok()) return fail(s);
    }
    {  // A few small tensors of different types.
        auto w = QntWriter::create(dir + "/tensors.qnt", {64});
        if (!w.ok()) return fail(w.status());
        Status s = w->add_string("general.architecture", "llama");
        std::vector<uint8_t> bytes(512, 0x3c);
        const std::vector<int64_t> ne_f32 = {8, 2}, ne_q8 = {32, 2}, ne_q4k = {256};
        s = s.ok() ? w->add_tensor("a.f32", Type::F32, ne_f32, bytes.data(), 64) : s;
        s = s.ok() ? w->add_tensor("b.q8_0", Type::Q8_0, ne_q8, bytes.data(), 68) : s;
        s = s.ok() ? w->add_tensor("c.q4_k", Type::Q4_K, ne_q4k, bytes.data(), 144) : s;
        s = s.ok() ? w->finish() : s;
        if (!s.ok()) return fail(s);
    }
    return 0;
}
